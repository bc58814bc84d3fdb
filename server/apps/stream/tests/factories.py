"""Long streams for the stream page's tests, the browser tests and the screenshots, made by the database itself.

``add_generated_readings`` writes any number of readings in one ``INSERT … SELECT generate_series`` on the
streamdata database (a million take seconds, where the ORM would take minutes). The values follow a temperature
day: a daily wave, a slower drift and a little deterministic noise, so every run draws the same chart.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connections, router

from server.apps.streamdata.models import StreamData, StreamDataStatus, StreamDataType
from server.apps.streamdata.services import stream_data_rollups_rebuild

# value(i) at t = start + i·step: 20 °C, ±4 over the day (coolest before dawn), ±1.5 over 3.5 days, ±0.4 of noise
# from a hash of i (the same every run).
TEMPERATURE_SQL = """
    20
    + 4 * sin(2 * pi() * (extract(epoch FROM t) / 86400.0 - 0.3))
    + 1.5 * sin(2 * pi() * extract(epoch FROM t) / (3.5 * 86400.0))
    + 0.8 * ((abs(sin(g * 12.9898) * 43758.5453) - floor(abs(sin(g * 12.9898) * 43758.5453))) - 0.5)
"""


def add_generated_readings(stream, *, count: int, start: datetime, step_seconds: float, first_id: int = 1) -> int:
    """``count`` readings of ``stream`` from ``start``, one every ``step_seconds``, with streamer ids from
    ``first_id`` and raw values of hundredths (``int_value = round(value · 100)``). Returns ``count``."""
    table = connections["streamdata"].ops.quote_name(StreamData._meta.db_table)
    sql = f"""
        INSERT INTO {table} (series, timestamp, device_timestamp, streamer_local_id, int_value, value, status, type,
                             dirty_ts)
        SELECT %(series)s, t, NULL,
               %(first_id)s + g, round(v * 100)::bigint, round(v::numeric, 3)::float8, %(status)s, %(type)s, false
        FROM generate_series(0, %(last)s) AS g
        CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + g * %(step)s * interval '1 second' AS t) AS moment
        CROSS JOIN LATERAL (SELECT {TEMPERATURE_SQL} AS v) AS reading
    """
    params = {
        "series": stream.series,
        "first_id": first_id,
        "status": StreamDataStatus.CLEAN,
        "type": StreamDataType.NUMERIC,
        "last": count - 1,
        "start": start,
        "step": step_seconds,
    }
    with connections[router.db_for_write(StreamData)].cursor() as cursor:
        cursor.execute(sql, params)
        # A table that just grew by a million rows has no statistics until autovacuum gets to it, and the planner
        # may then scan it whole; a real deployment has them, so give the test table its statistics now.
        cursor.execute(f"ANALYZE {table}")
    stream_data_rollups_rebuild(series=[stream.series])
    return count
