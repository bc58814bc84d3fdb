"""Generating reports: every format's numbers against a fresh SQL aggregate of the rows, on a stream of a million
readings; progress; the store; a crash and a retry."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from server.apps.device.tests.factories import T0
from server.apps.report import services
from server.apps.report.models import GeneratedUserReport, ReportStatus
from server.apps.report.services import generated_report_create, generated_report_run
from server.apps.report.tests.factories import load_readings, make_report_project, make_template
from server.apps.stores.selectors import store_file_read
from server.apps.worker.models import QueueMessage

MILLION = 1_000_000


@pytest.fixture(autouse=True)
def _stores(folder_stores):
    return folder_stores


def sql_summary(stream, start, end) -> tuple:
    with connections["streamdata"].cursor() as cursor:
        cursor.execute(
            "SELECT count(value), sum(value), min(value), max(value), min(timestamp), max(timestamp) "
            "FROM streamdata_streamdata WHERE series = %s AND timestamp >= %s AND timestamp < %s "
            "AND value IS NOT NULL",
            [stream.series, start, end],
        )
        return cursor.fetchone()


def sql_buckets(stream, start, end, width: int) -> list[tuple]:
    with connections["streamdata"].cursor() as cursor:
        cursor.execute(
            "SELECT floor(extract(epoch FROM timestamp) / %s)::bigint AS k, count(value), avg(value), min(value), "
            "max(value) FROM streamdata_streamdata WHERE series = %s AND timestamp >= %s AND timestamp < %s "
            "AND value IS NOT NULL GROUP BY k ORDER BY k",
            [width, stream.series, start, end],
        )
        return cursor.fetchall()


def run(template) -> GeneratedUserReport:
    generated = generated_report_create(user=template.created_by, report=template)
    generated_report_run(generated_id=generated.pk)
    generated.refresh_from_db()
    assert generated.status == ReportStatus.GENERATED, generated.error
    assert generated.progress == 100
    return generated


def file_bytes(generated) -> bytes:
    return store_file_read(store="reports", key=generated.file_key)


@pytest.fixture
def million(db):
    project, (stream, other) = make_report_project()
    load_readings(stream, MILLION)
    # The other stream's readings fall inside the reports' window too, so the HTML page draws both charts.
    load_readings(other, 1000, t0=T0 + timedelta(seconds=5000))
    return project, stream, other


def test_a_million_readings_in_every_format_match_sql(million):
    project, stream, _ = million
    # A window whose ends fall inside hours, minutes and days: the edges come from the rows, the rest from roll-ups.
    start, end = T0 + timedelta(seconds=4321.7), T0 + timedelta(seconds=1_250_000.3)
    count, total, low, high, _first, _last = sql_summary(stream, start, end)
    assert count > 900_000

    raw = run(make_template(project, sources=[stream.slug], start=start, end=end, format="csv"))
    lines = csv.reader(io.StringIO(file_bytes(raw).decode()))
    assert next(lines) == ["stream", "timestamp", "value"]
    values = [float(value) for slug, _, value in lines if slug == stream.slug]
    assert raw.row_count == len(values) == count
    assert math.fsum(values) == pytest.approx(total, rel=1e-12)
    assert (min(values), max(values)) == (low, high)

    hourly = run(make_template(project, sources=[stream.slug], start=start, end=end, aggregation="hour", format="csv"))
    rows = list(csv.reader(io.StringIO(file_bytes(hourly).decode())))[1:]
    expected = sql_buckets(stream, start, end, 3600)
    assert len(rows) == len(expected) == hourly.row_count
    for (_, bucket_start, n, mean, minimum, maximum), (k, sql_n, sql_mean, sql_min, sql_max) in zip(
        rows, expected, strict=True
    ):
        assert bucket_start == (T0.fromtimestamp(k * 3600, T0.tzinfo)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert int(n) == sql_n
        assert float(mean) == pytest.approx(sql_mean, rel=1e-9)
        assert (float(minimum), float(maximum)) == (sql_min, sql_max)

    workbook = run(
        make_template(project, sources=[stream.slug], start=start, end=end, aggregation="minute", format="xlsx")
    )
    book = openpyxl.load_workbook(io.BytesIO(file_bytes(workbook)), read_only=True)
    summary = list(book["Summary"].iter_rows(values_only=True))
    assert summary[1][0] == stream.slug
    assert summary[1][3] == count
    assert summary[1][6] == pytest.approx(total / count, rel=1e-9)
    assert summary[1][7:9] == pytest.approx((low, high), rel=1e-15)
    minutes = list(book.worksheets[1].iter_rows(values_only=True))[1:]
    expected = sql_buckets(stream, start, end, 60)
    assert len(minutes) == len(expected)
    assert [row[1] for row in minutes] == [n for _, n, *_ in expected]
    # XLSX keeps 16 significant digits (Excel itself shows 15).
    for row, (*_, sql_min, sql_max) in zip(minutes, expected, strict=True):
        assert row[3:5] == pytest.approx((sql_min, sql_max), rel=1e-15)

    page = run(make_template(project, start=start, end=end, format="html"))
    html = file_bytes(page).decode()
    assert "<script" not in html
    assert "http" not in html.replace("http://www.w3.org", "")
    row = re.search(rf'<tr data-stream="{stream.slug}">(.*?)</tr>', html, re.S).group(1)
    assert f'data-count="{count}"' in row
    mean = float(re.search(r'data-mean="([^"]+)"', row).group(1))
    assert mean == pytest.approx(total / count, rel=1e-9)
    assert f'data-min="{low!r}"' in row
    assert f'data-max="{high!r}"' in row
    assert html.count("<svg") == 2
    assert "<polyline" in html


def test_every_reading_in_xlsx_with_output_units(db):
    project, (stream, _) = make_report_project()
    load_readings(stream, 5000)
    generated = run(make_template(project, sources=[stream.slug], format="xlsx"))
    book = openpyxl.load_workbook(io.BytesIO(file_bytes(generated)), read_only=True)
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert rows[0] == ("timestamp", "value")
    count, total, *_ = sql_summary(stream, T0, T0 + timedelta(days=1))
    assert len(rows) - 1 == count == generated.row_count == 5000
    assert math.fsum(value for _, value in rows[1:]) == pytest.approx(total, rel=1e-12)
    assert rows[1][0] == (T0 + timedelta(seconds=1.3)).replace(tzinfo=None)


def test_scheduling_queues_the_worker_and_progress_is_saved(db, django_capture_on_commit_callbacks, monkeypatch):
    project, (stream, _) = make_report_project()
    load_readings(stream, 25_000)
    template = make_template(project, format="csv")
    with django_capture_on_commit_callbacks(execute=True):
        generated = generated_report_create(user=template.created_by, report=template)
    message = QueueMessage.objects.get(action="GenerateReport")
    assert message.arguments == {"generated_id": str(generated.pk)}
    assert generated.status == ReportStatus.SCHEDULED
    assert generated.progress == 0
    saved = []

    class Recording(services._Progress):
        def __call__(self, rows: int) -> None:
            super().__call__(rows)
            saved.append(GeneratedUserReport.objects.values_list("progress", flat=True).get(pk=generated.pk))

    monkeypatch.setattr(services, "_Progress", Recording)
    generated_report_run(generated_id=generated.pk)
    # 10,000 rows a chunk: 40 %, 80 %, then 99 % until the file is saved.
    assert saved == [40, 80, 99]
    generated.refresh_from_db()
    assert generated.status == ReportStatus.GENERATED
    assert generated.file_name.endswith(".csv")
    assert generated.file_size == len(file_bytes(generated))


def test_a_crash_while_writing_then_a_retry_leaves_one_file(db, monkeypatch):
    project, (stream, _) = make_report_project()
    load_readings(stream, 3000)
    template = make_template(project, format="csv")
    generated = generated_report_create(user=template.created_by, report=template)

    def crash(**kwargs):
        raise ConnectionError("store went away")

    monkeypatch.setattr(services, "store_file_save", crash)
    with pytest.raises(ConnectionError):
        generated_report_run(generated_id=generated.pk)
    generated.refresh_from_db()
    assert generated.status == ReportStatus.GENERATING
    assert not generated.file_key
    monkeypatch.undo()
    generated_report_run(generated_id=generated.pk)
    generated.refresh_from_db()
    assert generated.status == ReportStatus.GENERATED
    assert generated.row_count == 3000
    first_key = generated.file_key
    # A repeated message changes nothing.
    assert generated_report_run(generated_id=generated.pk) is None
    generated.refresh_from_db()
    assert generated.file_key == first_key
    assert generated.status == ReportStatus.GENERATED


def test_an_empty_window_makes_an_empty_report(db):
    project, (_stream, _) = make_report_project()
    generated = run(make_template(project, format="html"))
    assert generated.row_count == 0
    assert "No readings in the window." in file_bytes(generated).decode()


def test_template_changes_are_audited(db):
    from server.apps.audit.models import AuditEntry

    project, _ = make_report_project()
    template = make_template(project, format="csv")
    template.label = "Daily"
    template.save()
    entries = AuditEntry.objects.filter(object_pk=str(template.pk), content_type__model="userreport")
    assert entries.count() == 2
    assert entries.order_by("id").last().changes == {"label": ["Weekly levels", "Daily"]}
    assert {entry.org_id for entry in entries} == {project.org_id}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_a_window_from_the_year_1_to_9999_reads_only_the_readings_span(db, fmt):
    """Each format, minute buckets over years 1 to 9999: the same buckets as the readings' own window, in a
    handful of queries (it walked every empty 5,000-minute chunk since the year 1, 144 s in one worker, and ended
    on "year 10000 is out of range")."""
    project, (stream, _) = make_report_project()
    load_readings(stream, 3000)
    start, end = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    template = make_template(project, format=fmt, aggregation="minute", start=start, end=end)
    generated = generated_report_create(user=template.created_by, report=template)
    with CaptureQueriesContext(connections["streamdata"]) as queries:
        generated_report_run(generated_id=generated.pk)
    generated.refresh_from_db()
    assert generated.status == ReportStatus.GENERATED, generated.error
    expected = sql_buckets(stream, start, end, 60)
    assert generated.row_count == len(expected)
    assert len(queries.captured_queries) < 30
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(file_bytes(generated).decode())))[1:]
        assert [int(row[2]) for row in rows if row[0] == stream.slug] == [bucket[1] for bucket in expected]
