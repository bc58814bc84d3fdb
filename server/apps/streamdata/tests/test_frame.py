"""``df/``: the rows a filter names as one CSV table (what iotile-analytics downloads)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row

FRAME = "/api/v1/df/"


def _lines(response) -> list[str]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv"
    return b"".join(response.streaming_content).decode().splitlines()


class TestDataFrameEndpoint(ScopedEndpointCases):
    list_url = None
    write_method = None
    allowed_role = MEMBER
    denied_role = None
    hidden_role = None

    def make_object(self, org):
        stream = make_stream(make_device(make_project(org)))
        add_data(stream, 2)
        return stream

    def detail_url(self, obj) -> str:
        return f"{FRAME}?filter={obj.slug}&format=csv&mask=1"


@pytest.fixture
def stream(db):
    return make_stream(make_device(make_project()))


def test_csv_of_a_stream(stream):
    add_data(stream, 3)
    lines = _lines(api_client(stream.org.created_by).get(FRAME, {"filter": stream.slug, "format": "csv"}))
    assert lines == [
        "timestamp,value,int_value,stream",
        f"2026-01-01T00:00:00Z,0.0,0,{stream.slug}",
        f"2026-01-01T00:01:00Z,1.0,1,{stream.slug}",
        f"2026-01-01T00:02:00Z,2.0,2,{stream.slug}",
    ]


def test_csv_windows_empty_values_and_errors(stream):
    client = api_client(stream.org.created_by)
    add_data(stream, 5)
    stream_data_bulk_insert(
        rows=[stream_data_row(series=stream.series, timestamp=T0 + timedelta(hours=1), value=None, int_value=7)]
    )
    lines = _lines(client.get(FRAME, {"filter": stream.slug, "start": (T0 + timedelta(minutes=3)).isoformat()}))
    assert lines[1:] == [
        f"2026-01-01T00:03:00Z,3.0,3,{stream.slug}",
        f"2026-01-01T00:04:00Z,4.0,4,{stream.slug}",
        f"2026-01-01T01:00:00Z,,7,{stream.slug}",
    ]
    assert len(_lines(client.get(FRAME, {"filter": stream.slug, "lastn": 2}))) == 3
    assert client.get(FRAME, {"filter": stream.slug, "format": "xlsx"}).status_code == 400
    assert client.get(FRAME).status_code == 400
    assert client.get(FRAME, {"filter": stream.slug, "start": "junk"}).status_code == 400


def test_csv_query_count(stream):
    client = api_client(stream.org.created_by)
    add_data(stream, 3)
    # The account, the stream with whether the user may read its data; one query on streamdata however many rows.
    with assert_query_count(2), assert_query_count(1, using="streamdata"):
        _lines(client.get(FRAME, {"filter": stream.slug}))
    add_data(stream, 3000, start=T0 + timedelta(days=1), first_id=10_000)
    with assert_query_count(2), assert_query_count(1, using="streamdata"):
        assert len(_lines(client.get(FRAME, {"filter": stream.slug}))) == 3004


def test_operators_get_403(stream):
    operator = api_client(make_member(stream.org, OPERATOR))
    assert operator.get(FRAME, {"filter": stream.slug}).status_code == 403
