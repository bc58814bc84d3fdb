"""A filter compiled for ingest, and the run of its state machine over one series' readings. Pure: no database.

The comparisons run over a column of values at C speed (``map`` and ``compress``, stopping at the first reading that
fires), and walking the states jumps from one firing reading to the next, so a batch costs at most one pass over
its values per transition, not Python code per reading. A transition whose threshold lies beyond the batch's
extremes costs nothing at all.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, count, islice, repeat
from typing import Any


@dataclass(frozen=True, slots=True)
class Trigger:
    operator: str
    threshold: float
    deadband: float = 0.0

    def holds(self, values: Iterable[float]) -> Iterator[bool]:
        """Whether the trigger holds, for each value (lazily, at C speed)."""
        t, d = self.threshold, self.deadband
        if self.operator in ("gt", "gte"):
            return map(operator.gt if self.operator == "gt" else operator.ge, values, repeat(t + d))
        if self.operator in ("lt", "lte"):
            return map(operator.lt if self.operator == "lt" else operator.le, values, repeat(t - d))
        distances = map(abs, map(operator.sub, values, repeat(t)))
        return map(operator.le if self.operator == "eq" else operator.gt, distances, repeat(d))

    def can_hold(self, low: float, high: float) -> bool:
        """Whether the trigger can hold for some value between ``low`` and ``high`` (the readings' extremes): most
        thresholds are not crossed in a batch, and their transitions then cost nothing."""
        t, d = self.threshold, self.deadband
        return {
            "gt": high > t + d,
            "gte": high >= t + d,
            "lt": low < t - d,
            "lte": low <= t - d,
            "eq": low <= t + d and high >= t - d,
        }.get(self.operator, True)


@dataclass(frozen=True, slots=True)
class Transition:
    src: str
    dst: str
    triggers: tuple[Trigger, ...]

    def first_firing(self, values: Sequence[float], start: int = 0) -> int:
        """The position of the first value from ``start`` on for which every trigger holds, or -1. Lazy and at C
        speed: it reads the values only up to that position."""
        if not self.triggers:
            return -1
        combined: Iterator[Any] = self.triggers[0].holds(islice(values, start, None))
        for trigger in self.triggers[1:]:
            combined = map(operator.and_, combined, trigger.holds(islice(values, start, None)))
        return next(compress(count(start), combined), -1)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    id: int
    type: str
    recipients: str = ""
    url: str = ""
    note: str = ""
    output_stream_id: str | None = None
    output_value: float | None = None


@dataclass(frozen=True)
class CompiledFilter:
    """An active filter as ingest evaluates it (cached between batches; see ``selectors.active_filters``)."""

    id: int
    name: str
    org_id: int
    project_id: str
    variable_id: str
    device_id: int | None
    initial_state: str
    transitions: tuple[Transition, ...]
    # State label → the actions run on entering it.
    actions: Mapping[str, tuple[ActionSpec, ...]] = field(default_factory=dict)

    def watches(self, stream: Any) -> bool:
        return str(stream.variable_id) == self.variable_id and (
            self.device_id is None or stream.device_id == self.device_id
        )

    @property
    def state_labels(self) -> frozenset[str]:
        """The states the machine can be in (a series in another was left by a redefinition)."""
        return frozenset({self.initial_state, *(t.src for t in self.transitions), *(t.dst for t in self.transitions)})

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CompiledFilter:
        """From the row of ``selectors.ACTIVE_FILTERS_SQL``."""
        filter_id, name, org_id, project_id, variable_id, device_id, initial, transitions, actions = row
        by_state: dict[str, list[ActionSpec]] = {}
        for action in actions:
            state = action.pop("state")
            by_state.setdefault(state, []).append(ActionSpec(**action))
        return cls(
            id=filter_id,
            name=name,
            org_id=org_id,
            project_id=str(project_id),
            variable_id=str(variable_id),
            device_id=device_id,
            initial_state=initial,
            transitions=tuple(
                Transition(t["src"], t["dst"], tuple(Trigger(**trigger) for trigger in t["triggers"]))
                for t in transitions
            ),
            actions={state: tuple(specs) for state, specs in by_state.items()},
        )


@dataclass(frozen=True, slots=True)
class Move:
    """A transition taken at ``position`` (an index into the values the machine ran over)."""

    position: int
    src: str
    dst: str


def machine_run(
    *, transitions: Iterable[Transition], state: str, values: Sequence[float], bounds: tuple[float, float] | None = None
) -> tuple[str, list[Move]]:
    """Run the machine from ``state`` over ``values`` in order; returns the final state and the moves. At each
    reading at most one transition is taken (the first declared of those that fire), and the reading that moved the
    series is not evaluated again in the new state. ``bounds`` (the values' minimum and maximum, when the caller
    knows them) rule out the transitions whose triggers no value can meet without reading the values."""
    low, high = bounds if bounds is not None else (min(values, default=0.0), max(values, default=0.0))
    outgoing: dict[str, list[tuple[int, Transition]]] = {}
    for index, transition in enumerate(transitions):
        if all(trigger.can_hold(low, high) for trigger in transition.triggers):
            outgoing.setdefault(transition.src, []).append((index, transition))
    next_hit: dict[int, int] = {}
    moves: list[Move] = []
    position, total = 0, len(values)
    while position < total:
        best: tuple[int, Transition] | None = None
        for index, transition in outgoing.get(state, ()):
            hit = next_hit.get(index)
            # A hit found before is kept until the walk passes it; -1 (none left) stays true.
            if hit is None or 0 <= hit < position:
                hit = next_hit[index] = transition.first_firing(values, position)
            if hit >= 0 and (best is None or hit < best[0]):
                best = (hit, transition)
        if best is None:
            break
        position, taken = best
        moves.append(Move(position, taken.src, taken.dst))
        state = taken.dst
        position += 1
    return state, moves
