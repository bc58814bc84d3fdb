"""Streams with many readings for the report tests, loaded by PostgreSQL itself, with their roll-ups."""

from __future__ import annotations

from datetime import datetime

from django.db import connections

from server.apps.device.tests.factories import T0, make_device, make_project, make_variable
from server.apps.report.models import REPORT_STORE, GeneratedUserReport, ReportStatus, UserReport
from server.apps.stores.services import store_file_save
from server.apps.stream.models import StreamId
from server.apps.streamdata.services import stream_data_rollups_rebuild

# Reading i: at T0 + 1.3·i seconds (so buckets hold uneven counts and edges fall inside them), with a value that
# wanders over [-500, 930] in steps that are not round in binary.
READING_SQL = """
    INSERT INTO streamdata_streamdata (series, type, timestamp, streamer_local_id, int_value, value, status, dirty_ts)
    SELECT %(series)s, 'Num', %(t0)s::timestamptz + make_interval(secs => i * 1.3), i, i,
        ((i::bigint * 7919) %% 10007) / 7.0 - 500, 'cln', false
    FROM generate_series(1, %(count)s) AS i
"""


def load_readings(stream: StreamId, count: int, t0: datetime = T0) -> None:
    with connections["streamdata"].cursor() as cursor:
        cursor.execute(READING_SQL, {"series": stream.series, "t0": t0, "count": count})
    stream_data_rollups_rebuild(series=[stream.series])


def make_report_project(org=None, streams: int = 2):
    """A project with one device and ``streams`` streams (0x5001…), no readings yet."""
    project = make_project(org)
    for index in range(streams):
        make_variable(project, lid=0x5001 + index, name=f"Sensor {index + 1}")
    device = make_device(project, label="Reporter")
    return project, list(StreamId.objects.filter(device=device).order_by("var_lid"))


def make_template(project, **fields) -> UserReport:
    fields.setdefault("label", "Weekly levels")
    return UserReport.objects.create(org=project.org, project=project, created_by=project.org.created_by, **fields)


def make_generated(project, template: UserReport | None = None, content: bytes = b"stream,timestamp,value\n"):
    """A generated CSV report of ``project`` with its file in the ``reports`` store."""
    template = template or make_template(project)
    generated = GeneratedUserReport.objects.create(
        label=template.label,
        report=template,
        org=project.org,
        project=project,
        status=ReportStatus.GENERATED,
        progress=100,
        file_name="levels.csv",
        file_size=len(content),
    )
    generated.file_key = store_file_save(
        store=REPORT_STORE, key=f"{project.org.slug}/{generated.pk}/levels.csv", content=content
    )
    generated.save(update_fields=["file_key"])
    return generated
