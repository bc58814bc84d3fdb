"""Filters during ingest: reports uploaded through the API and processed by the real worker; alerts, states, notes,
e-mails, webhooks and derived rows checked as saved; exactly one alert per transition under retries and crashes."""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from itertools import pairwise

import pytest
from django.core import mail
from django.db import connection, transaction
from django.db.models.functions import Now
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.apps.core.testing import assert_query_count
from server.apps.device.tests.factories import make_device, make_stream, make_variable
from server.apps.project.models import Project
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.streamer.models import ReportStatus, StreamerReport
from server.apps.streamer.services import processing
from server.apps.streamer.services.processing import streamer_reports_process
from server.apps.streamer.tests.factories import make_ingest, process, signed_report, upload
from server.apps.streamfilter.machine import Transition
from server.apps.streamfilter.models import (
    StreamFilter,
    StreamFilterAlert,
    StreamFilterRevision,
    StreamFilterSeriesCursor,
    StreamFilterSeriesState,
)
from server.apps.streamfilter.selectors import PROJECT_REVISION, active_filters
from server.apps.streamfilter.services import FilterRows, filter_delete, filter_update, filters_evaluate
from server.apps.streamfilter.tests.factories import (
    make_filter,
    numbers,
    reference_run,
    threshold_definition,
    transitions_strategy,
)
from server.apps.streamnote.models import NoteType, StreamNote
from server.apps.worker.models import DeadLetter, QueueMessage

LEVEL = 0x5001


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.received.append(json.loads(body))  # type: ignore[attr-defined]
        status = server.statuses.pop(0) if server.statuses else 200  # type: ignore[attr-defined]
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A real HTTP server on the loopback that records the JSON posted to it; ``statuses`` are its next answers."""
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received, server.statuses = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}/hook"  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def ingest_rows(ingest, values, *, first_id: int = 1, report_id: int | None = None) -> str:
    """Upload a report of ``values`` on the level stream (ids from ``first_id``, ten seconds apart); the report's
    id (not processed yet)."""
    rows = [(10 * (first_id + i), LEVEL, value, first_id + i) for i, value in enumerate(values)]
    response = upload(ingest.client, signed_report(ingest.device.id, rows, report_id=report_id or first_id + 100))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def alerts() -> list[tuple]:
    return list(
        StreamFilterAlert.objects.order_by("streamer_local_id").values_list("src", "dst", "value", "streamer_local_id")
    )


def make_world(webhook_url: str | None = None):
    ingest = make_ingest()
    variable = make_variable(ingest.project, lid=LEVEL)
    output = make_stream(ingest.device, lid=0x5100)
    actions = [
        {"type": "eml", "recipients": "ops@example.com\nlead@example.com"},
        {"type": "note", "note": "Level high"},
        {"type": "drv", "output_stream": output, "output_value": 1.0},
    ]
    if webhook_url:
        actions.append({"type": "hook", "url": webhook_url})
    stream_filter = make_filter(ingest.project, variable, high_actions=actions)
    return ingest, stream_filter, output


def test_each_transition_raises_one_alert_and_runs_the_entered_states_actions(db, webhook):
    ingest, stream_filter, output = make_world(webhook.url)
    # 29 .. 31 is inside the dead band around 30: no alert for it.
    ingest_rows(ingest, [20, 31, 32, 31, 29, 25, 35])
    process()
    assert alerts() == [("normal", "high", 32.0, 3), ("high", "normal", 25.0, 6), ("normal", "high", 35.0, 7)]
    alert = StreamFilterAlert.objects.get(streamer_local_id=3)
    stream = StreamId.objects.get(slug=ingest.stream_slug(LEVEL))
    assert (alert.filter_id, alert.filter_name, alert.org_id, alert.project_id) == (
        stream_filter.id,
        "Too hot",
        ingest.org.id,
        ingest.project.id,
    )
    assert (alert.series, alert.stream_slug, alert.status) == (stream.series, stream.slug, "active")
    state = StreamFilterSeriesState.objects.get()
    assert (state.filter_id, state.series, state.state) == (stream_filter.id, stream.series, "high")
    cursor = StreamFilterSeriesCursor.objects.get()
    assert (cursor.series, cursor.last_streamer_local_id) == (stream.series, 7)
    # Entering "high" twice: two notes, two e-mails (one each, to both recipients), two webhooks, two derived rows.
    notes = StreamNote.objects.filter(type=NoteType.FILTER).order_by("timestamp")
    assert [(n.target, n.note) for n in notes] == [
        (stream.slug, "Level high (Too hot: normal → high at 32)"),
        (stream.slug, "Level high (Too hot: normal → high at 35)"),
    ]
    assert [(m.subject, m.to) for m in mail.outbox] == [
        (f"Too hot: {stream.slug} is now high", ["ops@example.com", "lead@example.com"])
    ] * 2
    assert sorted((body["streamer_local_id"], body["dst"], body["value"]) for body in webhook.received) == [
        (3, "high", 32.0),
        (7, "high", 35.0),
    ]
    high = StreamFilterAlert.objects.filter(dst="high").order_by("id")
    derived = StreamData.objects.filter(series=output.series).order_by("timestamp")
    assert [(row.value, row.timestamp, row.streamer_local_id) for row in derived] == [
        (1.0, alert.timestamp, alert.id) for alert in high
    ]
    assert all(sorted(alert.delivered_actions) == sorted(a.id for a in alert_actions(alert)) for alert in high)
    assert not DeadLetter.objects.exists()


def alert_actions(alert):
    return [action for action in alert.filter.states.get(label=alert.dst).actions.all() if action.type != "note"]


def test_later_reports_carry_the_state_on(db):
    ingest, _, _ = make_world()
    ingest_rows(ingest, [10, 40], first_id=1)
    ingest_rows(ingest, [40, 41, 10], first_id=3)
    process()
    assert alerts() == [("normal", "high", 40.0, 2), ("high", "normal", 10.0, 5)]


def test_reprocessing_or_uploading_a_report_again_raises_no_second_alert(db):
    ingest, _, _ = make_world()
    report_id = ingest_rows(ingest, [10, 40, 10, 40])
    process()
    assert len(alerts()) == 3
    assert len(mail.outbox) == 2
    # The same report processed again (as an operator's reprocess would), and the same file uploaded again.
    StreamerReport.objects.filter(pk=report_id).update(status=ReportStatus.SCHEDULED)
    assert [error for _, error in streamer_reports_process(report_ids=[report_id])] == [None]
    ingest_rows(ingest, [10, 40, 10, 40])
    process()
    assert len(alerts()) == 3
    assert len(mail.outbox) == 2
    assert StreamNote.objects.filter(type="fi").count() == 2


def test_the_unique_constraint_keeps_one_alert_even_when_the_series_state_is_lost(db):
    ingest, _, _ = make_world()
    ingest_rows(ingest, [10, 40])
    process()
    StreamFilterSeriesState.objects.all().delete()
    StreamFilterSeriesCursor.objects.all().delete()
    stream = StreamId.objects.get(slug=ingest.stream_slug(LEVEL))
    alert = StreamFilterAlert.objects.get()
    rows = FilterRows(
        streams={LEVEL: stream},
        stream_keys=[LEVEL],
        streamer_local_ids=[alert.streamer_local_id],
        timestamps=[alert.timestamp],
        values=[40.0],
    )
    assert filters_evaluate(rows=rows) == []
    assert len(alerts()) == 1
    assert StreamFilterSeriesState.objects.get().state == "high"


def test_a_crash_in_the_middle_of_a_batch_then_the_retry_leaves_one_alert_per_transition(db, monkeypatch):
    ingest, _, _ = make_world()
    first = ingest_rows(ingest, [10, 40], first_id=1)
    second = ingest_rows(ingest, [10, 40], first_id=3)
    QueueMessage.objects.all().delete()
    real, calls = filters_evaluate, []

    def crashing(**kwargs):
        calls.append(1)
        real(**kwargs)  # the alerts are written …
        if len(calls) == 2:
            raise ConnectionError("worker lost")  # … then the second report's acknowledgement dies

    monkeypatch.setattr(processing, "filters_evaluate", crashing)
    outcomes = dict(streamer_reports_process(report_ids=[first, second]))
    assert outcomes[0] is None
    assert isinstance(outcomes[1], ConnectionError)
    assert alerts() == [("normal", "high", 40.0, 2)]
    assert StreamerReport.objects.get(pk=second).status != ReportStatus.SUCCESS
    monkeypatch.setattr(processing, "filters_evaluate", real)
    assert [error for _, error in streamer_reports_process(report_ids=[first, second])] == [None, None]
    assert alerts() == [("normal", "high", 40.0, 2), ("high", "normal", 10.0, 3), ("normal", "high", 40.0, 4)]
    assert QueueMessage.objects.filter(action="StreamFilterEmail").count() == 2


def test_a_device_filter_watches_its_device_only_and_inactive_filters_nothing(db):
    ingest = make_ingest()
    variable = make_variable(ingest.project, lid=LEVEL)
    other = make_device(ingest.project)
    make_filter(ingest.project, variable, device=other)
    make_filter(ingest.project, variable, name="Off").__class__.objects.filter(name="Off").update(active=False)
    ingest_rows(ingest, [10, 40])
    process()
    assert alerts() == []


def test_a_failing_webhook_is_retried_until_it_answers(db, webhook):
    ingest, _, _ = make_world(webhook.url)
    webhook.statuses = [503, 500]
    ingest_rows(ingest, [10, 40])
    process()
    for _ in range(2):
        QueueMessage.objects.update(available_at=Now())  # the backoff, made to pass
        process()
    assert [body["dst"] for body in webhook.received] == ["high"] * 3
    assert not QueueMessage.objects.exists()
    assert not DeadLetter.objects.exists()
    assert len(StreamFilterAlert.objects.get().delivered_actions) == 3


def test_without_filters_a_batch_makes_no_query_for_them(db):
    ingest = make_ingest()
    ingest_rows(ingest, [1, 2], first_id=1)
    process()  # creates the stream; the project has no filter revision, so no batch looks filters up
    report_id = ingest_rows(ingest, [1, 2], first_id=3)
    # As in the streamer's own pin: the delivery mark, the report, the streams, the acknowledgement's transaction of
    # two.
    with assert_query_count(3 + 4):
        assert [error for _, error in streamer_reports_process(report_ids=[report_id])] == [None]


def test_with_filters_a_batch_adds_a_fixed_number_of_queries(db):
    ingest, _, _ = make_world()
    ingest_rows(ingest, [10, 40], first_id=1)
    process()
    report_id = ingest_rows(ingest, [40 + i % 3 for i in range(500)] + [10], first_id=3)
    # The streamer's 3 + 4, then the series' lock with its cursor (read and moved) and states, then the alerts with
    # the changed states (one statement for any number; the state entered, "normal", has no actions), whatever the
    # number of rows.
    with assert_query_count(3 + 4 + 2):
        assert [error for _, error in streamer_reports_process(report_ids=[report_id])] == [None]
    assert alerts()[-1] == ("high", "normal", 10.0, 503)


def _projects(project_id) -> list[Project]:
    """The project as a batch loads it: with its filter revision."""
    return list(Project.objects.select_related(PROJECT_REVISION).filter(pk=project_id))


def test_a_process_keeps_its_compiled_filters_until_a_filter_changes(db):
    ingest, stream_filter, _ = make_world()
    project = str(ingest.project.id)
    first = active_filters(projects=_projects(ingest.project.id))[project]
    # The revision read with the projects is the one these were compiled at: the process's own objects, no query.
    again = _projects(ingest.project.id) * 2
    with assert_query_count(0):
        assert active_filters(projects=again)[project] is first
    filter_update(stream_filter=stream_filter, name="Renamed")
    changed = _projects(ingest.project.id)
    with assert_query_count(1):
        assert [compiled.name for compiled in active_filters(projects=changed)[project]] == ["Renamed"]


def test_a_project_whose_filters_were_never_written_has_no_revision_and_costs_no_query(db):
    ingest = make_ingest()
    assert not StreamFilterRevision.objects.exists()
    projects = [*_projects(ingest.project.id), None]
    with assert_query_count(0):
        assert active_filters(projects=projects) == {}


def _revision(project) -> int:
    return StreamFilterRevision.objects.get(project=project).number


def test_every_filter_write_moves_the_projects_revision_in_its_transaction(db):
    """The services, a plain update of the table, and cascades that change a project's filters without them: a
    deleted output stream (the action goes), a deleted variable (its filters go)."""
    ingest, stream_filter, output = make_world()  # the filter and its three actions
    other = make_ingest()
    seen = [_revision(ingest.project)]

    def moved() -> bool:
        seen.append(_revision(ingest.project))
        return seen[-1] > seen[-2]

    filter_update(stream_filter=stream_filter, active=False)
    assert moved()
    StreamFilter.objects.filter(pk=stream_filter.pk).update(active=True)
    assert moved()
    output.delete()
    assert moved()
    assert not stream_filter.states.filter(actions__type="drv").exists()
    stream_filter.variable.delete()
    assert moved()
    assert not StreamFilter.objects.exists()
    with transaction.atomic():
        make_filter(ingest.project, make_variable(ingest.project, lid=LEVEL))
        transaction.set_rollback(True)
    assert not moved()
    assert not StreamFilterRevision.objects.filter(project=other.project).exists()
    # A project deleted with its filters takes its revision with it.
    make_filter(other.project, make_variable(other.project, lid=LEVEL))
    assert _revision(other.project) == 1
    other.project.delete()
    assert not StreamFilterRevision.objects.filter(project_id=other.project.pk).exists()


def test_the_next_batch_sees_a_filter_change(db):
    """A worker holding a project's compiled filters: a filter created, changed, then deleted between two batches
    is what the next batch evaluates."""
    ingest = make_ingest()
    variable = make_variable(ingest.project, lid=LEVEL)
    ingest_rows(ingest, [10, 40], first_id=1)
    process()  # the project has no filter
    stream_filter = make_filter(ingest.project, variable)
    ingest_rows(ingest, [10, 40], first_id=3)
    process()
    assert alerts() == [("normal", "high", 40.0, 4)]
    filter_update(stream_filter=stream_filter, **threshold_definition(threshold=60.0))
    ingest_rows(ingest, [10, 50], first_id=5)
    process()
    assert alerts()[1:] == [("high", "normal", 10.0, 5)]  # 50 no longer moves it
    StreamFilter.objects.filter(pk=stream_filter.pk).update(name="Renamed")
    ingest_rows(ingest, [70], first_id=7)
    process()
    assert alerts()[2:] == [("normal", "high", 70.0, 7)]
    assert StreamFilterAlert.objects.get(streamer_local_id=7).filter_name == "Renamed"
    # Changed after the upload, before the worker took the report.
    ingest_rows(ingest, [10], first_id=8)
    filter_update(stream_filter=stream_filter, name="Renamed again")
    process()
    assert StreamFilterAlert.objects.get(streamer_local_id=8).filter_name == "Renamed again"
    filter_delete(stream_filter=stream_filter)
    ingest_rows(ingest, [90], first_id=9)
    process()
    assert len(alerts()) == 4


def test_a_batch_that_moves_no_series_writes_only_the_cursor(db):
    ingest, stream_filter, _ = make_world()
    ingest_rows(ingest, [10, 40], first_id=1)
    process()
    report_id = ingest_rows(ingest, [40 + i % 3 for i in range(500)], first_id=3)
    # The streamer's 3 + 4, the series' lock with its cursor (read and moved) and states: no alert, and the state
    # ("high") is not written again.
    with assert_query_count(3 + 4 + 1):
        assert [error for _, error in streamer_reports_process(report_ids=[report_id])] == [None]
    assert StreamFilterSeriesState.objects.get(filter=stream_filter).state == "high"
    assert StreamFilterSeriesCursor.objects.get().last_streamer_local_id == 502
    assert len(alerts()) == 1


def _level_rows(stream: StreamId, streamer_local_id: int, value: float) -> FilterRows:
    return FilterRows(
        streams={LEVEL: stream},
        stream_keys=[LEVEL],
        streamer_local_ids=[streamer_local_id],
        timestamps=[datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=streamer_local_id)],
        values=[value],
    )


def _advisory_waits() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0]


def test_two_evaluations_of_one_series_run_one_after_the_other(transactional_db):
    """Two streamers of a device (or two workers) evaluating one series at once: the second waits for the first's
    commit and starts from the state it stored, so a transition is raised once."""
    ingest, _, _ = make_world()
    ingest_rows(ingest, [10], first_id=1)
    process()
    stream = StreamId.objects.get(slug=ingest.stream_slug(LEVEL))
    evaluated, release, raised = threading.Event(), threading.Event(), {}

    def first():
        with transaction.atomic():
            raised["first"] = filters_evaluate(rows=_level_rows(stream, 2, 40.0))
            evaluated.set()
            release.wait(30)
        connection.close()

    def second():
        raised["second"] = filters_evaluate(rows=_level_rows(stream, 3, 41.0))
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert evaluated.wait(30)
    threads[1].start()
    for _ in range(300):  # the second evaluation waits on the series' lock
        if _advisory_waits():
            break
        threading.Event().wait(0.1)
    assert _advisory_waits() == 1
    release.set()
    for thread in threads:
        thread.join(30)
    assert len(raised["first"]) == 1
    assert raised["second"] == []
    assert alerts() == [("normal", "high", 40.0, 2)]
    assert StreamFilterSeriesCursor.objects.get().last_streamer_local_id == 3


OTHER, UNWATCHED = 0x5002, 0x5003


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    machines=st.lists(st.lists(transitions_strategy, min_size=1, max_size=4), min_size=2, max_size=2),
    readings=st.lists(
        st.tuples(st.sampled_from([LEVEL, OTHER, UNWATCHED]), numbers, st.booleans()), min_size=1, max_size=60
    ),
    numbered=st.booleans(),
    cuts=st.lists(st.integers(1, 59), max_size=4),
    again=st.integers(0, 4),
)
def test_batches_raise_the_alerts_and_states_of_the_reading_by_reading_run(
    db, machines, readings, numbered, cuts, again
):
    """Readings of two watched streams and an unwatched one, interleaved, all with a streamer id or some without,
    cut into batches at random and evaluated one after the other, then one batch evaluated again (a retry): each
    filter's alerts and stored state are those of a reading-by-reading run over its series."""
    with transaction.atomic():
        ingest = make_ingest()
        streams = {lid: make_stream(ingest.device, lid=lid) for lid in (LEVEL, OTHER, UNWATCHED)}
        streams = {lid: StreamId.objects.get(pk=stream.pk) for lid, stream in streams.items()}
        made = [make_filter(ingest.project, streams[lid].variable, name=f"F{lid}") for lid in (LEVEL, OTHER)]
        compiled = {c.id: c for c in active_filters(projects=_projects(ingest.project.id))[str(ingest.project.id)]}
        filters = [
            dataclasses.replace(compiled[f.id], transitions=tuple(Transition(a, b, tuple(t)) for a, b, t in machine))
            for f, machine in zip(made, machines, strict=True)
        ]
        start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        ids = [0 if without_id and not numbered else i + 1 for i, (_, _, without_id) in enumerate(readings)]
        times = [start + datetime.timedelta(seconds=i) for i in range(len(readings))]
        edges = sorted({0, len(readings), *(cut for cut in cuts if cut < len(readings))})
        batches = [
            FilterRows(
                streams=streams,
                stream_keys=[lid for lid, _, _ in readings[a:b]],
                streamer_local_ids=ids[a:b],
                timestamps=times[a:b],
                values=[value for _, value, _ in readings[a:b]],
            )
            for a, b in pairwise(edges)
        ]
        for batch in [*batches, batches[again % len(batches)]]:
            filters_evaluate(rows=batch, filters=filters)
        for compiled_filter, lid in zip(filters, (LEVEL, OTHER), strict=True):
            series = [(value, time) for (key, value, _), time in zip(readings, times, strict=True) if key == lid]
            state, moves = reference_run(compiled_filter.transitions, "normal", [value for value, _ in series])
            raised = StreamFilterAlert.objects.filter(filter_id=compiled_filter.id).order_by("timestamp")
            assert [(a.src, a.dst, a.value, a.timestamp) for a in raised] == [
                (move.src, move.dst, *series[move.position]) for move in moves
            ]
            stored = StreamFilterSeriesState.objects.filter(filter_id=compiled_filter.id).first()
            assert (stored.state if stored else "normal") == state
            # The cursor: the series' highest streamer id, and the latest time of its readings without one.
            numbered = [i for i, (key, _, _) in zip(ids, readings, strict=True) if key == lid and i]
            unnumbered = [t for i, t, (key, _, _) in zip(ids, times, readings, strict=True) if key == lid and not i]
            cursor = StreamFilterSeriesCursor.objects.filter(series=streams[lid].series).first()
            found = (cursor.last_streamer_local_id, cursor.last_timestamp) if cursor else None
            expected = (max(numbered, default=0), max(unnumbered, default=None)) if series else None
            assert found == expected
        transaction.set_rollback(True)
