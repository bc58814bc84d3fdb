"""Filters for tests: the usual two-state threshold machine with a hysteresis band; random machines and values
(hypothesis strategies), and the machine's reference run, reading by reading."""

from __future__ import annotations

from hypothesis import strategies as st

from server.apps.streamfilter.machine import Move, Trigger
from server.apps.streamfilter.services import filter_create


def threshold_definition(*, threshold: float = 30.0, deadband: float = 1.0, high_actions=()) -> dict:
    """``normal`` → ``high`` above ``threshold + deadband``, back below ``threshold - deadband``."""
    return {
        "initial_state": "normal",
        "states": [{"label": "normal", "actions": []}, {"label": "high", "actions": list(high_actions)}],
        "transitions": [
            {
                "src": "normal",
                "dst": "high",
                "triggers": [{"operator": "gt", "threshold": threshold, "deadband": deadband}],
            },
            {
                "src": "high",
                "dst": "normal",
                "triggers": [{"operator": "lt", "threshold": threshold, "deadband": deadband}],
            },
        ],
    }


def make_filter(project, variable, *, device=None, name: str = "Too hot", user=None, **definition):
    return filter_create(
        user=user or project.org.created_by,
        project=project,
        variable=variable,
        device=device,
        name=name,
        **threshold_definition(**definition),
    )


def trigger_holds(trigger: Trigger, value: float) -> bool:
    """A trigger on one reading, as docs/filters.md defines it."""
    t, d = trigger.threshold, trigger.deadband
    return {
        "gt": value > t + d,
        "gte": value >= t + d,
        "lt": value < t - d,
        "lte": value <= t - d,
        "eq": t - d <= value <= t + d,
        "ne": not t - d <= value <= t + d,
    }[trigger.operator]


def reference_run(transitions, state: str, values) -> tuple[str, list[Move]]:
    """The machine reading by reading: at most one transition per reading, the first declared that fires."""
    moves = []
    for position, value in enumerate(values):
        for transition in transitions:
            if transition.src == state and all(trigger_holds(trigger, value) for trigger in transition.triggers):
                moves.append(Move(position, state, transition.dst))
                state = transition.dst
                break
    return state, moves


# Small integers and halves, so values land on thresholds and dead-band edges often.
numbers = st.integers(-8, 8).map(lambda n: n / 2) | st.floats(-10, 10, allow_nan=False)
states_strategy = st.sampled_from(["normal", "high", "low"])
triggers_strategy = st.builds(
    Trigger,
    st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne"]),
    numbers,
    st.integers(0, 4).map(lambda n: n / 2),
)
transitions_strategy = st.tuples(
    states_strategy, states_strategy, st.lists(triggers_strategy, min_size=1, max_size=3)
).filter(lambda t: t[0] != t[1])
