"""A filter compiled for ingest, and the run of its state machine over one series' readings. Pure: no database.

A series' values in a batch come with their lowest and highest (``SeriesValues``, shared by every filter on the
series): a filter none of whose transitions out of the series' state can fire anywhere between the two takes no
transition in the batch, which costs a few comparisons per filter, whatever the number of readings. Otherwise the
values are sorted once (``ValueIndex``, shared too); a trigger's readings are then a slice of that order found by
two bisections, and walking the states jumps from one firing reading to the next by bisection. So a batch costs
Python work per filter only in proportion to the readings that cross its thresholds, never per reading.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True, slots=True)
class ValueIndex:
    """A series' values sorted once (with their positions), shared by every trigger evaluated over them: a trigger's
    readings are then a slice of ``order`` found by bisection, whatever the number of values."""

    sorted_values: list[float]
    order: list[int]

    @classmethod
    def of(cls, values: Sequence[float]) -> ValueIndex:
        order = sorted(range(len(values)), key=values.__getitem__)
        return cls(list(map(values.__getitem__, order)), order)


@dataclass(slots=True)
class SeriesValues:
    """A series' values in a batch, with their bounds; sorted (``index``) only when a filter may move on them."""

    values: Sequence[float]
    low: float
    high: float
    sorted_index: ValueIndex | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> SeriesValues:
        return cls(values, min(values), max(values))

    @property
    def index(self) -> ValueIndex:
        if self.sorted_index is None:
            self.sorted_index = ValueIndex.of(self.values)
        return self.sorted_index


@dataclass(frozen=True, slots=True)
class Trigger:
    operator: str
    threshold: float
    deadband: float = 0.0

    def may_hold(self, low: float, high: float) -> bool:
        """Whether the trigger holds for some value between ``low`` and ``high`` (both included): when it does
        not, it holds for none of a batch's values that lie there."""
        t, d = self.threshold, self.deadband
        if self.operator == "gt":
            return high > t + d
        if self.operator == "gte":
            return high >= t + d
        if self.operator == "lt":
            return low < t - d
        if self.operator == "lte":
            return low <= t - d
        if self.operator == "eq":
            return low <= t + d and high >= t - d
        return low < t - d or high > t + d

    def positions(self, index: ValueIndex) -> list[int]:
        """The positions of the values for which the trigger holds, from the sorted values (two bisections and a
        slice: no per-value work)."""
        t, d, ordered, order = self.threshold, self.deadband, index.sorted_values, index.order
        if self.operator == "gt":
            return order[bisect_right(ordered, t + d) :]
        if self.operator == "gte":
            return order[bisect_left(ordered, t + d) :]
        if self.operator == "lt":
            return order[: bisect_left(ordered, t - d)]
        if self.operator == "lte":
            return order[: bisect_right(ordered, t - d)]
        low, high = bisect_left(ordered, t - d), bisect_right(ordered, t + d)
        return order[low:high] if self.operator == "eq" else order[:low] + order[high:]


@dataclass(frozen=True, slots=True)
class Transition:
    src: str
    dst: str
    triggers: tuple[Trigger, ...]

    def may_fire(self, low: float, high: float) -> bool:
        return all(trigger.may_hold(low, high) for trigger in self.triggers)

    def firing(self, index: ValueIndex) -> list[int]:
        """The positions, in order, of the values for which every trigger holds."""
        if not self.triggers:
            return []
        found = self.triggers[0].positions(index)
        if len(self.triggers) > 1:
            common = set(found).intersection(*(trigger.positions(index) for trigger in self.triggers[1:]))
            return sorted(common)
        return sorted(found)


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
    """An active filter as ingest evaluates it (kept between batches while its project's filter revision
    stays; see ``selectors.active_filters``)."""

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

    @cached_property
    def state_labels(self) -> frozenset[str]:
        """The states the machine can be in (a series in another was left by a redefinition)."""
        return frozenset({self.initial_state, *(t.src for t in self.transitions), *(t.dst for t in self.transitions)})

    @cached_property
    def outgoing(self) -> Mapping[str, tuple[Transition, ...]]:
        """The transitions out of each state."""
        found: dict[str, list[Transition]] = {}
        for transition in self.transitions:
            found.setdefault(transition.src, []).append(transition)
        return {state: tuple(transitions) for state, transitions in found.items()}

    def may_move(self, state: str, low: float, high: float) -> bool:
        """Whether a transition out of ``state`` can fire for a value between ``low`` and ``high``: when none can, a
        series in ``state`` whose values lie there stays in it."""
        return any(transition.may_fire(low, high) for transition in self.outgoing.get(state, ()))

    def run(self, state: str, series: SeriesValues) -> tuple[str, list[Move]]:
        """``machine_run`` from ``state`` over the series' values; a few comparisons only, and no sort, when no
        transition out of ``state`` can fire between the values' bounds (then the series stays where it is)."""
        if not self.may_move(state, series.low, series.high):
            return state, []
        return machine_run(transitions=self.transitions, state=state, values=series.values, index=series.index)

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
    *, transitions: Iterable[Transition], state: str, values: Sequence[float], index: ValueIndex | None = None
) -> tuple[str, list[Move]]:
    """Run the machine from ``state`` over ``values`` in order; returns the final state and the moves. At each
    reading at most one transition is taken (the first declared of those that fire), and the reading that moved the
    series is not evaluated again in the new state. ``index`` (the values sorted, when the caller shares one
    between machines over the same values) finds each transition's firing readings by bisection; a transition is
    looked at only when the series is in its source state."""
    index = index or ValueIndex.of(values)
    outgoing: dict[str, list[tuple[int, Transition]]] = {}
    for number, transition in enumerate(transitions):
        outgoing.setdefault(transition.src, []).append((number, transition))
    firing: dict[int, list[int]] = {}
    moves: list[Move] = []
    position, total = 0, len(values)
    while position < total:
        best: tuple[int, Transition] | None = None
        for number, transition in outgoing.get(state, ()):
            if number not in firing:
                firing[number] = transition.firing(index)
            found = firing[number]
            at = bisect_left(found, position)
            if at < len(found) and (best is None or found[at] < best[0]):
                best = (found[at], transition)
        if best is None:
            break
        position, taken = best
        moves.append(Move(position, taken.src, taken.dst))
        state = taken.dst
        position += 1
    return state, moves
