"""The state machine on its own: triggers, dead bands (hysteresis), the walk from one firing reading to the next."""

from __future__ import annotations

import pytest

from server.apps.streamfilter.machine import Move, Transition, Trigger, ValueIndex, machine_run

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
