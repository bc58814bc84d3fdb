"""The state machine on its own: triggers, dead bands (hysteresis), the walk from one firing reading to the next,
the bounds that spare a batch the walk; and, on random series and machines, the same transitions as a plain
reading-by-reading evaluation."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.apps.streamfilter.machine import (
    CompiledFilter,
    Move,
    SeriesValues,
    Transition,
    Trigger,
    ValueIndex,
    machine_run,
)
from server.apps.streamfilter.tests.factories import numbers, reference_run, states_strategy, transitions_strategy

HIGH = Transition("normal", "high", (Trigger("gt", 30.0, 1.0),))
BACK = Transition("high", "normal", (Trigger("lt", 30.0, 1.0),))


@pytest.mark.parametrize(
    ("operator", "threshold", "deadband", "expected"),
    [
        ("gt", 10, 0, [0, 0, 1, 1]),
        ("gte", 10, 0, [0, 1, 1, 1]),
        ("lt", 10, 0, [1, 0, 0, 0]),
        ("lte", 10, 0, [1, 1, 0, 0]),
        ("eq", 10, 0, [0, 1, 0, 0]),
        ("ne", 10, 0, [1, 0, 1, 1]),
        ("gt", 10, 2, [0, 0, 0, 1]),
        ("lt", 10, 0.5, [1, 0, 0, 0]),
        ("eq", 10, 1.5, [1, 1, 1, 0]),
        ("ne", 10, 1.5, [0, 0, 0, 1]),
    ],
)
def test_triggers_compare_past_the_dead_band(operator, threshold, deadband, expected):
    values = [9.0, 10, 11.5, 12.5]
    firing = Transition("a", "b", (Trigger(operator, threshold, deadband),)).firing(ValueIndex.of(values))
    assert [int(i in firing) for i in range(len(values))] == expected


def test_all_triggers_of_a_transition_must_hold():
    band = Transition("out", "in", (Trigger("gte", 10), Trigger("lte", 20)))
    assert band.firing(ValueIndex.of([5, 10, 15, 20, 25])) == [1, 2, 3]


def test_hysteresis_takes_one_transition_per_crossing_of_the_band():
    # Noise around the threshold (29.5 .. 30.5) stays inside the dead band: no flapping.
    values = [20, 29.5, 30.5, 31.5, 30.5, 29.5, 30.9, 28.5, 29.9, 31.2, 10]
    state, moves = machine_run(transitions=[HIGH, BACK], state="normal", values=values)
    assert moves == [
        Move(3, "normal", "high"),
        Move(7, "high", "normal"),
        Move(9, "normal", "high"),
        Move(10, "high", "normal"),
    ]
    assert state == "normal"


def test_the_reading_that_moves_a_series_is_not_evaluated_again_and_ties_go_to_the_first_declared():
    up = Transition("a", "b", (Trigger("gt", 0),))
    other = Transition("a", "c", (Trigger("gt", 0),))
    down = Transition("b", "a", (Trigger("gt", 0),))
    state, moves = machine_run(transitions=[up, other, down], state="a", values=[1, 1, 1])
    assert moves == [Move(0, "a", "b"), Move(1, "b", "a"), Move(2, "a", "b")]
    assert state == "b"


def test_a_state_without_a_way_out_keeps_the_series():
    state, moves = machine_run(transitions=[HIGH], state="high", values=[0, 100])
    assert (state, moves) == ("high", [])


def compiled(transitions, initial_state: str = "normal") -> CompiledFilter:
    return CompiledFilter(
        id=1,
        name="f",
        org_id=1,
        project_id="p",
        variable_id="v",
        device_id=None,
        initial_state=initial_state,
        transitions=tuple(transitions),
    )


def test_a_batch_within_the_dead_band_is_not_sorted():
    series = SeriesValues.of([29.5, 30.9, 29.1, 30.0])
    assert compiled([HIGH, BACK]).run("normal", series) == ("normal", [])
    assert compiled([HIGH, BACK]).run("high", series) == ("high", [])
    assert series.sorted_index is None
    assert compiled([HIGH, BACK]).run("normal", SeriesValues.of([29.5, 31.5, 28.5])) == (
        "normal",
        [Move(1, "normal", "high"), Move(2, "high", "normal")],
    )


@pytest.mark.parametrize(
    ("operator", "low", "high", "expected"),
    [
        ("gt", 0, 11, False),
        ("gt", 0, 11.01, True),
        ("gte", 0, 11, True),
        ("lt", 9, 20, False),
        ("lte", 9, 20, True),
        ("eq", 11.01, 20, False),
        ("eq", 0, 9, True),
        ("eq", 0, 8.99, False),
        ("ne", 9, 11, False),
        ("ne", 9, 11.5, True),
    ],
)
def test_a_trigger_may_hold_between_bounds_only_past_its_dead_band(operator, low, high, expected):
    assert Trigger(operator, 10, 1).may_hold(low, high) is expected


@settings(max_examples=400, deadline=None)
@given(
    transitions=st.lists(transitions_strategy, min_size=1, max_size=5),
    state=states_strategy,
    values=st.lists(numbers, min_size=1, max_size=40),
    cuts=st.lists(st.integers(1, 39), max_size=4),
)
def test_batch_evaluation_takes_thetransitions_strategy_of_the_reading_by_reading_run(transitions, state, values, cuts):
    """The values cut into batches at random, each run with the bounds and the bisections from the state the
    previous batch left: the same moves, at the same readings, and the same final state, as one reading-by-reading
    run over the whole series."""
    machine = compiled([Transition(src, dst, tuple(triggers)) for src, dst, triggers in transitions])
    expected = reference_run(machine.transitions, state, values)
    edges = sorted({0, len(values), *(cut for cut in cuts if cut < len(values))})
    moves, current = [], state
    for start, end in pairwise(edges):
        current, found = machine.run(current, SeriesValues.of(values[start:end]))
        moves += [Move(start + move.position, move.src, move.dst) for move in found]
    assert (current, moves) == expected
