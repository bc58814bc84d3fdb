"""Reading an alias's series through ``data/?filter=a--…`` and ``df/``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.apps.core.testing import api_client, assert_query_count, make_member
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream
from server.apps.org.models import OrgMembership
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.streamalias.tests.factories import make_alias, make_tap

DATA = "/api/v1/data/"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def owner(project):
    return project.org.created_by


@pytest.fixture
def series(project):
    """Three devices' streams, readings every minute from T0 (values 0, 1, 2, …; ids offset per device), and an
    alias reading A until T0+5 min, then B until T0+12 min, then C."""
    streams = [make_stream(make_device(project)) for _ in range(3)]
    for offset, stream in enumerate(streams):
        add_data(stream, 20, first_id=100 * (offset + 1))
    alias = make_alias(project.org)
    make_tap(alias, streams[0], T0 - timedelta(days=1))
    make_tap(alias, streams[1], T0 + 5 * MINUTE)
    make_tap(alias, streams[2], T0 + 12 * MINUTE)
    return alias, streams


def _rows(client, alias, **params):
    response = client.get(DATA, {"filter": alias.slug, "page_size": 1000, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_alias_reads_each_tap_until_the_next(owner, series):
    alias, (a, b, c) = series
    body = _rows(api_client(owner), alias)
    assert body["count"] == 20
    got = [(row["stream"], row["streamer_local_id"]) for row in body["results"]]
    expected = (
        [(a.slug, 100 + i) for i in range(5)]
        + [(b.slug, 200 + i) for i in range(5, 12)]
        + [(c.slug, 300 + i) for i in range(12, 20)]
    )
    assert got == expected
    # One reading per minute, no gap and no overlap at the boundaries.
    stamps = [row["timestamp"] for row in body["results"]]
    assert stamps == [(T0 + i * MINUTE).isoformat().replace("+00:00", "Z") for i in range(20)]
    # Rows look exactly like the stream's own rows.
    own = api_client(owner).get(DATA, {"filter": b.slug, "start": (T0 + 5 * MINUTE).isoformat()}).json()
    assert body["results"][5] == own["results"][0]


def test_alias_pages_windows_and_last_n(owner, series):
    alias, _ = series
    client = api_client(owner)
    page = _rows(client, alias, page_size=6, page=2)
    assert page["count"] == 20
    assert [row["streamer_local_id"] for row in page["results"]] == [206, 207, 208, 209, 210, 211]
    assert page["next"]
    assert page["previous"]
    window = _rows(client, alias, start=(T0 + 3 * MINUTE).isoformat(), end=(T0 + 13 * MINUTE).isoformat())
    assert [row["streamer_local_id"] for row in window["results"]] == [103, 104, *range(205, 212), 312]
    last = _rows(client, alias, lastn=3)
    assert [row["streamer_local_id"] for row in last["results"]] == [317, 318, 319]
    across = _rows(client, alias, lastn=10)
    assert [row["streamer_local_id"] for row in across["results"]] == [210, 211, *range(312, 320)]


def test_alias_without_taps_is_empty_and_unknown_is_404(owner, project):
    client = api_client(owner)
    assert _rows(client, make_alias(project.org))["count"] == 0
    assert client.get(DATA, {"filter": "a--0000-0000-0000-ffff"}).status_code == 404
    assert client.get(DATA, {"filter": "a--xyz"}).status_code == 400


def test_alias_data_is_scoped(series, project):
    alias, _ = series
    outsider = api_client(make_project().org.created_by)
    assert outsider.get(DATA, {"filter": alias.slug}).status_code == 404
    # Operators see aliases (they read stream ids) but not data.
    operator = api_client(make_member(project.org, OPERATOR))
    assert operator.get(f"/api/v1/alias/{alias.slug}/").status_code == 200
    assert operator.get(DATA, {"filter": alias.slug}).status_code == 403
    member = make_member(project.org, MEMBER)
    assert api_client(member).get(DATA, {"filter": alias.slug}).json()["count"] == 20
    membership = OrgMembership.objects.get(user=member, org=project.org)
    membership.permissions["can_read_stream_data"] = False
    membership.save()
    assert api_client(member).get(DATA, {"filter": alias.slug}).status_code == 403


def test_alias_data_query_count_does_not_grow_with_taps(owner, series):
    alias, streams = series
    client = api_client(owner)
    # The account, the alias, the read permission, the taps with their streams; the page on streamdata (a first page
    # that holds everything needs no count).
    with assert_query_count(4), assert_query_count(1, using="streamdata"):
        client.get(DATA, {"filter": alias.slug})
    for hour in range(1, 6):
        make_tap(alias, streams[hour % 3], T0 + timedelta(hours=hour))
    with assert_query_count(4), assert_query_count(1, using="streamdata"):
        assert client.get(DATA, {"filter": alias.slug}).json()["count"] == 20
    with assert_query_count(4), assert_query_count(1, using="streamdata"):
        client.get(DATA, {"filter": alias.slug, "lastn": 5})


def test_alias_as_csv(owner, series):
    alias, (_, b, _) = series
    response = api_client(owner).get("/api/v1/df/", {"filter": alias.slug, "format": "csv", "mask": 1})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "timestamp,value,int_value,stream"
    assert len(lines) == 21
    assert lines[6] == f"2026-01-01T00:05:00Z,5.0,5,{b.slug}"
