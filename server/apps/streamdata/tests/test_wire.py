"""The stream-data lists' JSON, written by PostgreSQL and joined in Python (``stream_data_json``), is byte for byte
what orjson makes of the dicts ``stream_data_rows`` shapes (the lists' shape before, and still the one of a posted
reading's answer): on values, nulls, odd floats, output units, time zones, statuses and types, several streams at
once, and every page a list can answer (the first, a later one, ``lastn``, a time window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from server.apps.core.api.renderers import FastJSONRenderer
from server.apps.core.testing import api_client
from server.apps.device.tests.factories import T0, make_device, make_project, make_stream
from server.apps.streamdata.api import views
from server.apps.streamdata.api.serializers import (
    ROW_COLUMNS,
    WIRE_COLUMNS,
    stream_data_json,
    stream_data_rows,
    with_wire_json,
)
from server.apps.streamdata.models import StreamData, StreamDataStatus, StreamDataType
from server.apps.streamdata.selectors.rows import DATA_ORDERING, stream_data_for_series
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row
from server.apps.vartype.models import VarType, VarTypeOutputUnit

IST = timezone(timedelta(hours=5, minutes=30))
VALUES = [0.0, -0.0, 1.0, -2.5, 1e-7, 0.00005, 123.456, 1 / 3, 1e16, -1.5e300, 2.675, None, float("nan"), float("inf")]


@pytest.fixture
def device(db):
    return make_device(make_project())


@pytest.fixture
def streams(device):
    """Two streams of one device: one shown as stored, one in an output unit of three places with an offset."""
    var_type = VarType.objects.create(name="Volume", slug="volume")
    unit = VarTypeOutputUnit.objects.create(
        var_type=var_type, unit_full="L/3", slug="out--volume--third", m=1000, d=3, o=-0.5, decimal_places=3
    )
    plain = make_stream(device)
    converted = make_stream(device, lid=0x5002, var_type="volume", output_unit=unit.slug)
    statuses, types = list(StreamDataStatus), list(StreamDataType)
    rows = []
    for stream, offset in ((plain, timedelta(0)), (converted, timedelta(seconds=30))):
        for number, value in enumerate(VALUES):
            # Times written in UTC and in +05:30, some with microseconds, one before 1970; both streams at once.
            zone = UTC if number % 2 else IST
            timestamp = (T0 + offset + timedelta(minutes=number, microseconds=(number % 3) * 250)).astimezone(zone)
            if number == 5:
                timestamp = datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=UTC)
            rows.append(
                stream_data_row(
                    series=stream.series,
                    timestamp=timestamp,
                    value=value,
                    int_value=None if number % 4 == 0 else (-(1 << 62) if number == 3 else number * 7),
                    streamer_local_id=number + 1,
                    device_timestamp=None if number % 3 == 0 else (-5 if number == 4 else number * 60),
                    type=types[number % len(types)],
                    status=statuses[number % len(statuses)],
                    dirty_ts=number % 2 == 0,
                )
            )
    stream_data_bulk_insert(rows=rows)
    return [plain, converted]


def expected_results(streams, **window) -> list[tuple]:
    """The rows as the lists read them before, as ``ROW_COLUMNS`` tuples in list order."""
    queryset = stream_data_for_series(series=[stream.series for stream in streams])
    return list(queryset.filter(**window).order_by(*DATA_ORDERING).values_list(*ROW_COLUMNS))


def rendered(body: dict, rows: list[tuple], streams) -> bytes:
    """What orjson (the lists' renderer) wrote for this body with the rows shaped as dicts."""
    shaped = {**body, "results": stream_data_rows(rows, {stream.series: stream for stream in streams})}
    return FastJSONRenderer().render(shaped)


def test_the_json_of_rows_is_the_json_of_their_dicts(streams):
    by_series = {stream.series: stream for stream in streams}
    queryset = with_wire_json(stream_data_for_series(series=list(by_series)))
    wire = list(queryset.values_list(*WIRE_COLUMNS))
    assert len(wire) == 2 * len(VALUES)
    assert orjson.dumps(stream_data_json(wire, by_series)) == FastJSONRenderer().render(
        stream_data_rows(expected_results(streams), by_series)
    )
    assert orjson.dumps(stream_data_json([], by_series)) == b"[]"


def test_every_page_of_the_lists_is_written_as_before(device, streams):
    plain, converted = streams
    owner = plain.project.org.created_by
    client = api_client(owner)
    everything = expected_results(streams)

    def check(url: str, params: dict, rows: list[tuple], on: list) -> None:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert [row["id"] for row in body["results"]] == [row[0] for row in rows]
        assert response.content == rendered(body, rows, on), params

    check("/api/v1/data/", {"filter": device.slug}, everything, streams)
    check("/api/v1/data/", {"filter": device.slug, "page_size": 5, "page": 3}, everything[10:15], streams)
    start, end = (T0 + timedelta(minutes=2)).astimezone(IST), T0 + timedelta(minutes=9)
    window = {"filter": device.slug, "start": start.isoformat(), "end": end.isoformat(), "page_size": 4}
    check("/api/v1/data/", window, expected_results(streams, timestamp__gte=start, timestamp__lt=end)[:4], streams)
    newest = expected_results([converted])[-3:]
    check(f"/api/v1/stream/{converted.slug}/data/", {"lastn": 3}, newest, [converted])
    check(f"/api/v1/stream/{plain.slug}/data/", {"lastn": 0}, [], [plain])
    # lastn over more rows than a page: the page and the count, each over the same newest rows.
    for page, rows in ((1, everything[-6:-2]), (2, everything[-2:])):
        check("/api/v1/data/", {"filter": device.slug, "lastn": 6, "page_size": 4, "page": page}, rows, streams)
    assert client.get("/api/v1/data/", {"filter": device.slug, "lastn": 6, "page_size": 4}).json()["count"] == 6
    # lastn with other filters, on several streams: one statement per shape, run again with other values.
    for first_id, since in ((3, start), (6, T0 + timedelta(minutes=4))):
        params = {"filter": device.slug, "lastn": 5, "streamer_id_0": first_id, "start": since.isoformat()}
        rows = expected_results(streams, streamer_local_id__gte=first_id, timestamp__gte=since)[-5:]
        check("/api/v1/data/", params, rows, streams)
    assert everything[0][2] == datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=UTC)  # the rows are the mixed ones
    # The browsable API shows the same list.
    page = client.get("/api/v1/data/", {"filter": device.slug}, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert f"&quot;{converted.slug}&quot;" in page.content.decode()


def test_a_row_without_a_timestamp_is_written_as_before(streams):
    plain = streams[0]
    stream_data_bulk_insert(rows=[stream_data_row(series=plain.series, timestamp=None, value=4.5, int_value=None)])
    row = StreamData.objects.get(series=plain.series, timestamp__isnull=True)
    wire = with_wire_json(StreamData.objects.filter(pk=row.pk)).values_list(*WIRE_COLUMNS)
    columns = StreamData.objects.filter(pk=row.pk).values_list(*ROW_COLUMNS)
    by_series = {plain.series: plain}
    assert orjson.dumps(stream_data_json(list(wire), by_series)) == FastJSONRenderer().render(
        stream_data_rows(list(columns), by_series)
    )


def test_a_status_or_type_outside_the_choices_is_written_as_before(streams):
    """PostgreSQL writes the model's choices from a list of their JSON; anything else a row holds (nothing the API
    or the worker writes) is escaped by to_json, as orjson escapes it."""
    plain = streams[0]
    by_series = {plain.series: plain}
    stream_data_bulk_insert(rows=[stream_data_row(series=plain.series, timestamp=T0, value=1.0, streamer_local_id=99)])
    odd = StreamData.objects.filter(series=plain.series, streamer_local_id=99)
    odd.update(status='a"\\', type="é\n")
    wire = with_wire_json(odd).values_list(*WIRE_COLUMNS)
    assert orjson.dumps(stream_data_json(list(wire), by_series)) == FastJSONRenderer().render(
        stream_data_rows(list(odd.values_list(*ROW_COLUMNS)), by_series)
    )
    assert b'"status":"a\\"\\\\"' in orjson.dumps(stream_data_json(list(wire), by_series))


def test_lastn_over_more_streams_than_are_compiled_is_read_the_same(device, streams, monkeypatch):
    monkeypatch.setattr(views, "COMPILED_STREAMS_MAX", 1)
    client = api_client(streams[0].project.org.created_by)
    response = client.get("/api/v1/data/", {"filter": device.slug, "lastn": 4, "streamer_id_1": 9})
    rows = expected_results(streams, streamer_local_id__lte=9)[-4:]
    assert response.content == rendered(response.json(), rows, streams)
    assert len(rows) == 4
