"""Writes on stream filters (their definition, as one document), on alerts (acknowledge, clear), and the
evaluation of filters over ingested rows (``filters_evaluate``, which any ingest path calls)."""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, count, repeat
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.db.models import F, Func, Value
from django.utils import timezone

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.outbound import outbound_url_check
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.project.models import Project
from server.apps.stream.models import StreamId
from server.apps.streamfilter.machine import CompiledFilter, SeriesValues
from server.apps.streamfilter.models import (
    ActionType,
    AlertStatus,
    StreamFilter,
    StreamFilterAction,
    StreamFilterAlert,
    StreamFilterSeriesCursor,
    StreamFilterSeriesState,
    StreamFilterState,
    StreamFilterTransition,
    StreamFilterTrigger,
    TriggerOperator,
)
from server.apps.streamfilter.selectors import PROJECT_REVISION, active_filters
from server.apps.streamnote.models import NoteType
from server.apps.streamnote.services import system_note_create
from server.apps.worker.queue import enqueue_on_commit

# The worker actions that carry out a state's actions for an alert (streamfilter/jobs.py), by action type.
DELIVERY_ACTIONS = {
    ActionType.EMAIL: "StreamFilterEmail",
    ActionType.WEBHOOK: "StreamFilterWebhook",
    ActionType.DERIVED: "StreamFilterDerivedWrite",
}


# A filter's size (docs/filters.md): far beyond any machine people write, small enough that the definition, its
# audit entries and every ingest's compiled filters stay cheap.
MAX_STATES = 50
MAX_TRANSITIONS = 200
MAX_TRIGGERS = 10  # per transition
MAX_ACTIONS = 10  # per state


def _bad(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, {field: [message]})


# The definition ---------------------------------------------------------------------------------------------------


def _check_definition(
    *, project, initial_state: str, states: Sequence[Mapping[str, Any]], transitions: Sequence[Mapping[str, Any]]
) -> None:
    if len(states) > MAX_STATES:
        raise _bad("states", f"At most {MAX_STATES} states (got {len(states)}).")
    if len(transitions) > MAX_TRANSITIONS:
        raise _bad("transitions", f"At most {MAX_TRANSITIONS} transitions (got {len(transitions)}).")
    labels = [str(state.get("label", "")).strip() for state in states]
    if not labels or not all(labels):
        raise _bad("states", "A filter needs at least one state, each with a label.")
    if len(set(labels)) != len(labels):
        raise _bad("states", "State labels must differ.")
    if initial_state not in labels:
        raise _bad("initial_state", f"The initial state '{initial_state}' is not one of the filter's states.")
    for transition in transitions:
        src, dst = transition.get("src"), transition.get("dst")
        if src not in labels or dst not in labels:
            raise _bad("transitions", f"A transition names a state the filter lacks: {src} → {dst}.")
        if src == dst:
            raise _bad("transitions", f"A transition must go to another state ({src} → {dst}).")
        triggers = transition.get("triggers") or []
        if not triggers:
            raise _bad("transitions", f"The transition {src} → {dst} needs at least one trigger.")
        if len(triggers) > MAX_TRIGGERS:
            raise _bad("transitions", f"The transition {src} → {dst} has more than {MAX_TRIGGERS} triggers.")
        for trigger in triggers:
            if trigger.get("operator") not in TriggerOperator.values:
                raise _bad("transitions", f"Unknown trigger operator '{trigger.get('operator')}'.")
            if float(trigger.get("deadband") or 0) < 0:
                raise _bad("transitions", "A trigger's dead band cannot be negative.")
    for state in states:
        actions = state.get("actions") or []
        if len(actions) > MAX_ACTIONS:
            raise _bad("states", f"The state {state.get('label')} has more than {MAX_ACTIONS} actions.")
        for action in actions:
            _check_action(project=project, action=action)


def _check_action(*, project, action: Mapping[str, Any]) -> None:
    kind = action.get("type")
    if kind == ActionType.EMAIL:
        recipients = recipients_list(action.get("recipients", ""))
        if not recipients:
            raise _bad("states", "An e-mail action needs at least one recipient.")
        for address in recipients:
            try:
                EmailValidator()(address)
            except ValidationError:
                raise _bad("states", f"'{address}' is not an e-mail address.") from None
    elif kind == ActionType.WEBHOOK:
        outbound_url_check(str(action.get("url") or ""), field="states")
    elif kind == ActionType.NOTE:
        if not str(action.get("note") or "").strip():
            raise _bad("states", "A note action needs the note's text.")
    elif kind == ActionType.DERIVED:
        stream = action.get("output_stream")
        if not isinstance(stream, StreamId) or stream.project_id != project.id:
            raise _bad("states", "A derived-stream action writes to a stream of the filter's project.")
    else:
        raise _bad("states", f"Unknown action type '{kind}'.")


def recipients_list(text: str) -> list[str]:
    return [line.strip() for line in str(text).replace(",", "\n").splitlines() if line.strip()]


def _write_definition(
    stream_filter: StreamFilter, states: Sequence[Mapping[str, Any]], transitions: Sequence[Mapping[str, Any]]
) -> None:
    """Replace the filter's states, transitions, triggers and actions (the series keep their state by label)."""
    StreamFilterState.objects.filter(filter=stream_filter).delete()
    by_label = {}
    for state in states:
        row = StreamFilterState.objects.create(filter=stream_filter, label=str(state["label"]).strip())
        by_label[row.label] = row
        for action in state.get("actions") or []:
            StreamFilterAction.objects.create(
                state=row,
                type=action["type"],
                recipients="\n".join(recipients_list(action.get("recipients", ""))),
                url=action.get("url") or "",
                note=action.get("note") or "",
                output_stream=action.get("output_stream"),
                output_value=action.get("output_value"),
            )
    for transition in transitions:
        row_t = StreamFilterTransition.objects.create(
            filter=stream_filter, src=by_label[transition["src"]], dst=by_label[transition["dst"]]
        )
        for trigger in transition["triggers"]:
            StreamFilterTrigger.objects.create(
                transition=row_t,
                operator=trigger["operator"],
                threshold=float(trigger["threshold"]),
                deadband=float(trigger.get("deadband") or 0),
            )


def _check_manage(user, org) -> None:
    if not user_has_org_permission(user, org, permission_for(StreamFilter, "add")):
        raise PermissionDeniedError("You may not manage stream filters in this organisation.")


def _check_target(*, project, variable, device) -> None:
    if variable.project_id != project.id:
        raise _bad("variable", "The variable belongs to another project.")
    if device is not None and device.project_id != project.id:
        raise _bad("device", "The device is not in the filter's project.")


@transaction.atomic
def filter_create(
    *,
    user,
    project,
    variable,
    name: str,
    initial_state: str,
    states: Sequence[Mapping[str, Any]],
    transitions: Sequence[Mapping[str, Any]] = (),
    device=None,
    active: bool = True,
) -> StreamFilter:
    """A filter over ``variable``'s stream of ``device`` (or of every device of ``project``). ``states`` are
    ``{"label", "actions": [{"type", …}]}``; ``transitions`` are ``{"src", "dst", "triggers": [{"operator",
    "threshold", "deadband"}]}``. Needs ``can_modify_stream_ids`` in the project's organisation."""
    _check_manage(user, project.org)
    _check_target(project=project, variable=variable, device=device)
    _check_definition(project=project, initial_state=initial_state, states=states, transitions=transitions)
    stream_filter = StreamFilter(
        name=name,
        org=project.org,
        project=project,
        variable=variable,
        device=device,
        active=active,
        initial_state=initial_state,
        created_by=user,
    )
    stream_filter.full_clean()
    stream_filter.save()
    _write_definition(stream_filter, states, transitions)
    return stream_filter


@transaction.atomic
def filter_update(
    *,
    stream_filter: StreamFilter,
    name: str | None = None,
    active: bool | None = None,
    initial_state: str | None = None,
    states: Sequence[Mapping[str, Any]] | None = None,
    transitions: Sequence[Mapping[str, Any]] | None = None,
) -> StreamFilter:
    """Change a filter; ``states`` and ``transitions`` replace the whole machine when given (both, or neither)."""
    if (states is None) != (transitions is None):
        raise _bad("states", "Send the states and the transitions together.")
    if states is None:
        labels = set(stream_filter.states.values_list("label", flat=True))
        if initial_state is not None and initial_state not in labels:
            raise _bad("initial_state", f"The initial state '{initial_state}' is not one of the filter's states.")
    else:
        assert transitions is not None, "checked above: both or neither"
        _check_definition(
            project=stream_filter.project,
            initial_state=initial_state or stream_filter.initial_state,
            states=states,
            transitions=transitions,
        )
    for field, value in (("name", name), ("active", active), ("initial_state", initial_state)):
        if value is not None:
            setattr(stream_filter, field, value)
    stream_filter.full_clean()
    stream_filter.save()
    if states is not None and transitions is not None:
        _write_definition(stream_filter, states, transitions)
    return stream_filter


@transaction.atomic
def filter_delete(*, stream_filter: StreamFilter) -> None:
    """Delete the filter and its machine; its alerts stay, as history."""
    stream_filter.delete()


# Alerts -----------------------------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def alert_acknowledge(*, alert: StreamFilterAlert, user) -> StreamFilterAlert:
    """Someone has seen the alert. A cleared alert stays cleared."""
    alert = StreamFilterAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == AlertStatus.CLEARED:
        raise _bad("status", "The alert is cleared already.")
    if alert.status == AlertStatus.ACTIVE:
        alert.status, alert.acknowledged_on, alert.acknowledged_by = AlertStatus.ACKNOWLEDGED, timezone.now(), user
        alert.save(update_fields=["status", "acknowledged_on", "acknowledged_by"])
    return alert


@transaction.atomic(durable=True)
def alert_clear(*, alert: StreamFilterAlert, user) -> StreamFilterAlert:
    """The alert is dealt with; it stays in the history. Clearing acknowledges it too."""
    alert = StreamFilterAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != AlertStatus.CLEARED:
        now = timezone.now()
        if alert.acknowledged_on is None:
            alert.acknowledged_on, alert.acknowledged_by = now, user
        alert.status, alert.cleared_on, alert.cleared_by = AlertStatus.CLEARED, now, user
        alert.save(update_fields=["status", "acknowledged_on", "acknowledged_by", "cleared_on", "cleared_by"])
    return alert


def alert_action_deliver(*, alert_id: int, action_id: int, deliver: Callable[[StreamFilterAlert], None]) -> bool:
    """Carry out action ``action_id`` for the alert once: under the alert's row lock, unless it was delivered
    already, ``deliver(alert)`` then the record that it was, in one transaction (a failed delivery records nothing
    and the worker retries it). Returns whether it ran."""
    with transaction.atomic():
        alert = StreamFilterAlert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None or action_id in alert.delivered_actions:
            return False
        deliver(alert)
        StreamFilterAlert.objects.filter(pk=alert_id).update(
            delivered_actions=Func(F("delivered_actions"), Value(action_id), function="array_append")
        )
    return True


# Evaluation over ingested rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterRows:
    """Rows as parallel columns: ``stream_keys`` names each row's stream by a key of ``streams`` (a variable id, a
    slug: whatever the caller has), ``streamer_local_ids`` is 0 for a reading without one, ``timestamps`` are aware
    UTC datetimes. Rows are evaluated in their order (ingest orders a report by reading id)."""

    streams: Mapping[Any, StreamId]
    stream_keys: Sequence[Any]
    streamer_local_ids: Sequence[int]
    timestamps: Sequence[datetime.datetime]
    values: Sequence[float]


_ALERT_COLUMNS = (
    "created_on",
    "filter_id",
    "filter_name",
    "org_id",
    "project_id",
    "series",
    "stream_slug",
    "src",
    "dst",
    "value",
    "timestamp",
    "streamer_local_id",
    "status",
)


def _alert_key(filter_id: int, series: int, streamer_local_id: int, timestamp: datetime.datetime) -> tuple:
    """What makes an alert unique (the model's constraints): the reading's streamer id, or its time without one."""
    return (filter_id, series, streamer_local_id) if streamer_local_id else (filter_id, series, 0, timestamp)


def _alerts_insert(*, alerts: Sequence[tuple], states: Sequence[tuple]) -> list[int | None]:
    """Upsert the states that changed (filter id, series, state, now) and insert the alerts (rows of
    ``_ALERT_COLUMNS``), skipping those raised before (a retried or reprocessed report meets the unique
    constraints); returns the ids of the new alerts, ``None`` in place of the skipped. One statement."""
    placeholders = "(" + ", ".join(["%s"] * len(_ALERT_COLUMNS)) + ", '{}')"
    sql = (
        f"INSERT INTO {StreamFilterAlert._meta.db_table} ({', '.join(_ALERT_COLUMNS)}, delivered_actions) "
        f"VALUES {', '.join([placeholders] * len(alerts))} ON CONFLICT DO NOTHING "
        "RETURNING id, filter_id, series, streamer_local_id, timestamp"
    )
    if states:
        sql = (
            f"WITH changed AS (INSERT INTO {StreamFilterSeriesState._meta.db_table} (filter_id, series, state, "
            f"updated_on) VALUES {', '.join(['(%s, %s, %s, %s)'] * len(states))} ON CONFLICT (filter_id, series) "
            f"DO UPDATE SET state = EXCLUDED.state, updated_on = EXCLUDED.updated_on) {sql}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in (*states, *alerts) for value in row])
        inserted = {_alert_key(*key): alert_id for alert_id, *key in cursor.fetchall()}
    return [inserted.get(_alert_key(row[1], row[5], row[11], row[10])) for row in alerts]


# The first key of the two-key advisory lock an evaluation holds on each series it evaluates (the second is the
# series): two evaluations of one series (two streamers of a device, two workers) run one after the other.
SERIES_LOCK_NAMESPACE = 0x5346  # "SF"


@dataclass(frozen=True, slots=True)
class _Cursor:
    last_id: int
    last_time: datetime.datetime | None


@dataclass
class _Watched:
    """One stream of the rows, the filters that watch it, and how far its rows reach: the lowest and highest id
    (``first_id`` is 0 when a reading has none) and the latest time of the readings without one. Where the rows
    are is found only when needed (``rows_of``)."""

    key: Any
    stream: StreamId
    filters: list[CompiledFilter]
    first_id: int
    last_id: int
    last_time: datetime.datetime | None = None
    positions: list[int] | None = None
    ids: list[int] | None = None

    def rows_of(self, rows: FilterRows) -> tuple[list[int], list[int]]:
        """The positions of the stream's rows and their ids: one C-speed pass over the rows' stream column."""
        if self.positions is None or self.ids is None:
            self.positions = list(compress(count(), map(operator.eq, rows.stream_keys, repeat(self.key))))
            self.ids = list(map(rows.streamer_local_ids.__getitem__, self.positions))
        return self.positions, self.ids

    def new_to(self, cursor: _Cursor | None) -> bool:
        """Whether every row is after the cursor (the usual batch: no reading of it was evaluated before)."""
        return cursor is None or (not cursor.last_id and cursor.last_time is None) or self.first_id > cursor.last_id


def _in_id_order(ids: Sequence[int]) -> bool:
    """Whether every row has a streamer id, in order (as ingest hands a report over): a stream's first and last
    rows then hold its lowest and highest ids. Two C-speed passes."""
    listed = ids if isinstance(ids, list) else list(ids)
    return bool(listed) and listed[0] > 0 and sorted(listed) == listed


def _watched(rows: FilterRows, filters: Sequence[CompiledFilter]) -> list[_Watched]:
    by_variable: dict[str, list[CompiledFilter]] = {}
    for compiled in filters:
        by_variable.setdefault(compiled.variable_id, []).append(compiled)
    keys, ids = rows.stream_keys, rows.streamer_local_ids
    ordered = _in_id_order(ids)
    listed = keys if isinstance(keys, list) else list(keys)
    backwards = listed[::-1] if ordered else []
    watched = []
    for key, stream in rows.streams.items():
        # The filters on the stream's variable, of every device or of the stream's.
        variable, device = str(stream.variable_id), stream.device_id
        found = [c for c in by_variable.get(variable, ()) if c.device_id is None or c.device_id == device]
        if not found or key not in listed:
            continue
        if ordered:  # the stream's first and last rows, found from both ends
            first, last = listed.index(key), len(listed) - 1 - backwards.index(key)
            watched.append(_Watched(key, stream, found, ids[first], ids[last]))
            continue
        item = _Watched(key, stream, found, 0, 0)
        positions, found_ids = item.rows_of(rows)
        item.first_id, item.last_id = min(found_ids), max(found_ids)
        if 0 in found_ids:  # readings without an id move the cursor's time
            item.last_time = max(rows.timestamps[p] for p, i in zip(positions, found_ids, strict=True) if not i)
        watched.append(item)
    return watched


def _unseen(item: _Watched, rows: FilterRows, cursor: _Cursor | None) -> list[int]:
    """The rows of a series after the last reading its filters have evaluated."""
    positions, found_ids = item.rows_of(rows)
    if item.new_to(cursor):
        return positions
    assert cursor is not None, "new_to is true without a cursor"
    ids, timestamps = rows.streamer_local_ids, rows.timestamps
    last_id, last_time = cursor.last_id, cursor.last_time
    if 0 not in found_ids:  # every reading has an id: compare them at C speed
        return list(compress(positions, map(operator.lt, repeat(last_id), found_ids)))
    return [
        position
        for position in positions
        if (ids[position] > last_id if ids[position] else last_time is None or timestamps[position] > last_time)
    ]


def _stored(watched: list[_Watched], now: datetime.datetime) -> tuple[dict[int, _Cursor], dict[tuple[int, int], str]]:
    """Lock the watched series to the commit (advisory locks, taken in series order so two evaluations cannot
    deadlock), then read their cursors and their filters' states, by (filter id, series), and move the cursors past
    the rows (the highest id and latest time without one, where they are beyond the stored ones: where the rows
    have readings the filters have not evaluated). One query: the read is its own statement, so its snapshot is
    taken once the locks are granted and sees what the previous holder committed; it returns the cursors as they
    were before it moved them."""
    series = sorted({item.stream.series for item in watched})
    filter_ids = sorted({compiled.id for item in watched for compiled in item.filters})
    moved = [(item.stream.series, item.last_id, item.last_time, now) for item in watched]
    table = StreamFilterSeriesCursor._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, series) FROM unnest(%s::integer[]) AS series; "
            f"WITH stored AS (SELECT series, last_streamer_local_id, last_timestamp FROM {table} "
            f"WHERE series = ANY(%s)), moved AS (INSERT INTO {table} AS c (series, last_streamer_local_id, "
            f"last_timestamp, updated_on) VALUES {', '.join(['(%s, %s, %s::timestamptz, %s)'] * len(moved))} "
            "ON CONFLICT (series) DO UPDATE SET "
            "last_streamer_local_id = GREATEST(c.last_streamer_local_id, EXCLUDED.last_streamer_local_id), "
            "last_timestamp = GREATEST(c.last_timestamp, EXCLUDED.last_timestamp), updated_on = EXCLUDED.updated_on "
            "WHERE EXCLUDED.last_streamer_local_id > c.last_streamer_local_id "
            "OR EXCLUDED.last_timestamp > c.last_timestamp "
            "OR (c.last_timestamp IS NULL AND EXCLUDED.last_timestamp IS NOT NULL)) "
            "SELECT series, NULL::integer, NULL::varchar, last_streamer_local_id, last_timestamp FROM stored "
            "UNION ALL SELECT series, filter_id, state, NULL, NULL "
            f"FROM {StreamFilterSeriesState._meta.db_table} WHERE series = ANY(%s) AND filter_id = ANY(%s)",
            [SERIES_LOCK_NAMESPACE, series, series, *(value for row in moved for value in row), series, filter_ids],
        )
        found = cursor.fetchall()
    cursors = {row[0]: _Cursor(row[3], row[4]) for row in found if row[1] is None}
    states = {(row[1], row[0]): row[2] for row in found if row[1] is not None}
    return cursors, states


@transaction.atomic(savepoint=False)
def filters_evaluate(*, rows: FilterRows, filters: Sequence[CompiledFilter] | None = None) -> list[int]:
    """Run the active filters over freshly ingested rows, in the caller's transaction if any (ingest calls it in the
    one that acknowledges the rows, so a crash before that commit leaves no state and no alert behind, and the retry
    evaluates the rows again).

    ``filters`` are the rows' projects' active filters (``selectors.active_filters``, kept compiled while the
    project's filter revision stays: a batch looks them up once); without them they are looked up here (one query
    for the projects' revisions). For each watched series: the rows after its cursor (shared by
    the filters on it) and their values' bounds; for each filter on it, the stored state (or the filter's initial
    one) and the machine run over those values (a few comparisons when no transition out of the state can fire
    between the bounds); then one alert per transition with the states that changed, and the entered states'
    actions (notes at once, the rest through the worker after the commit). Rows that no filter watches cost
    nothing; with filters, the queries are: the series' lock, stored cursors and states, and the cursors moved past
    the rows (one); the alerts and the changed states (one, when any transition); and one per note or queued
    delivery, whatever the number of rows and filters.

    Returns the ids of the alerts raised. Alerts are unique by (filter, series, the reading's streamer id, or its
    time without one): evaluating the same rows again raises none.
    """
    if filters is None:
        projects = Project.objects.select_related(PROJECT_REVISION).filter(
            pk__in={stream.project_id for stream in rows.streams.values()}
        )
        filters = [compiled for found in active_filters(projects=projects).values() for compiled in found]
    if not filters:
        return []
    watched = _watched(rows, filters)
    if not watched:
        return []
    now = timezone.now()
    cursors, states = _stored(watched, now)
    ids, timestamps, values = rows.streamer_local_ids, rows.timestamps, rows.values
    changed: list[tuple] = []
    alerts: list[tuple] = []
    entered: list[tuple[CompiledFilter, StreamId, str]] = []
    # The lowest and highest value of the whole batch: when no filter of a series whose rows are all new can move
    # between them, the series is passed by without finding its rows.
    batch_bounds: tuple[float, float] | None = None
    for item in watched:
        stream = item.stream
        cursor = cursors.get(stream.series)
        current_states = []
        for compiled in item.filters:
            current = states.get((compiled.id, stream.series), compiled.initial_state)
            if current not in compiled.state_labels:
                current = compiled.initial_state  # the machine was redefined without the series' state
            current_states.append((compiled, current))
        if item.new_to(cursor):
            batch_bounds = batch_bounds or (min(values), max(values))
            if not any(compiled.may_move(current, *batch_bounds) for compiled, current in current_states):
                continue
        positions = _unseen(item, rows, cursor)
        if not positions:
            continue
        series = SeriesValues.of(list(map(values.__getitem__, positions)))
        for compiled, current in current_states:
            final, moves = compiled.run(current, series)
            for move in moves:
                position = positions[move.position]
                alerts.append(
                    (
                        now,
                        compiled.id,
                        compiled.name,
                        compiled.org_id,
                        compiled.project_id,
                        stream.series,
                        stream.slug,
                        move.src,
                        move.dst,
                        float(values[position]),
                        timestamps[position],
                        ids[position],
                        AlertStatus.ACTIVE,
                    )
                )
                entered.append((compiled, stream, move.dst))
            if final != current:
                changed.append((compiled.id, stream.series, final, now))
    raised: list[int] = []
    if alerts:  # a state changes only by a transition, so there are alerts whenever states changed
        inserted = _alerts_insert(alerts=alerts, states=changed)
        for alert_id, row, (compiled, stream, state_label) in zip(inserted, alerts, entered, strict=True):
            if alert_id is not None:
                raised.append(alert_id)
                _run_actions(alert_id=alert_id, compiled=compiled, stream=stream, state=state_label, row=row)
    return raised


def _run_actions(*, alert_id: int, compiled: CompiledFilter, stream: StreamId, state: str, row: tuple) -> None:
    """The actions of the state an alert's series entered: a note now (in the caller's transaction), the others
    queued for the worker, delivered once the transaction commits."""
    for action in compiled.actions.get(state, ()):
        if action.type == ActionType.NOTE:
            src, dst, value = row[7], row[8], row[9]
            system_note_create(
                target=stream,
                note=f"{action.note} ({compiled.name}: {src} → {dst} at {value:g})",
                type=NoteType.FILTER,
                timestamp=row[10],
            )
        else:
            enqueue_on_commit(DELIVERY_ACTIONS[ActionType(action.type)], {"alert_id": alert_id, "action_id": action.id})
