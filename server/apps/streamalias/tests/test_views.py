"""Stream alias pages: the organisation's aliases, creating one, an alias's taps, its continuous series as a chart
and a table, and adding a tap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.device.tests.factories import T0, add_data, make_device, make_stream
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.streamalias.models import StreamAlias, StreamAliasTap
from server.apps.streamalias.selectors import alias_data_series, alias_tap_ranges
from server.apps.streamalias.tests.factories import make_alias, make_org_stream, make_tap
from server.apps.streamdata.selectors.series import SERIES_MAX_POINTS

HOUR = timedelta(hours=1)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def alias_url(alias, name: str = "detail", org=None, slug=None) -> str:
    org = org or alias.org
    return reverse(f"streamalias:{name}", kwargs={"org_slug": org.slug, "alias_slug": slug or alias.slug})


def list_url(org, name: str = "list") -> str:
    return reverse(f"streamalias:{name}", kwargs={"org_slug": org.slug})


@pytest.fixture
def org(db):
    return make_org()


@pytest.fixture
def joined(org):
    """An alias reading one stream for the first 10 hours of T0's day and another after, each with 20 readings
    a hour apart that overlap the swap (the first device kept sending)."""
    first = make_org_stream(org)
    second = make_stream(make_device(first.project), lid=0x5001)
    add_data(first, 20, start=T0, step=HOUR)
    add_data(second, 20, start=T0 + 5 * HOUR, step=HOUR)
    alias = make_alias(org, "Inlet level")
    make_tap(alias, first, T0 - HOUR)
    make_tap(alias, second, T0 + 10 * HOUR)
    return alias, first, second


def test_the_list_shows_each_alias_with_its_current_stream(org, joined):
    _alias, _first, second = joined
    make_alias(org, "Empty one")
    response = logged_in(org.created_by).get(list_url(org))
    assert response.status_code == 200
    rows = {a.name: (a.current_stream, a.tap_count) for a in response.context["aliases"]}
    assert rows == {"Inlet level": (second.slug, 2), "Empty one": (None, 0)}
    assert response.context["alias_form"] is not None


def test_creating_an_alias_and_adding_taps(org):
    stream = make_org_stream(org)
    client = logged_in(org.created_by)
    response = client.post(list_url(org, "create"), {"name": "Outlet flow"})
    alias = StreamAlias.objects.get(name="Outlet flow")
    assert response.status_code == 302
    assert response.url == alias_url(alias)
    response = client.post(alias_url(alias, "tap-create"), {"stream": stream.slug, "timestamp": "2026-01-01T00:00:00"})
    assert response.status_code == 302
    assert StreamAliasTap.objects.get(alias=alias).stream == stream
    # The same instant twice, a stream nobody can see, another organisation's stream: the form says so.
    response = client.post(alias_url(alias, "tap-create"), {"stream": stream.slug, "timestamp": "2026-01-01T00:00:00"})
    assert response.status_code == 200
    assert response.context["tap_form"].errors["timestamp"]
    foreign = make_org_stream(make_org())
    for value in ("s--nonsense", foreign.slug):
        response = client.post(alias_url(alias, "tap-create"), {"stream": value, "timestamp": "2026-02-01T00:00"})
        assert response.context["tap_form"].errors["stream"]
    assert StreamAliasTap.objects.filter(alias=alias).count() == 1
    assert client.post(list_url(org, "create"), {"name": ""}).status_code == 200


def test_the_alias_page_reads_each_stream_over_its_own_time(org, joined):
    alias, first, second = joined
    response = logged_in(org.created_by).get(alias_url(alias))
    assert response.status_code == 200
    assert [tap.stream for tap in response.context["taps"]] == [second, first]
    readings = response.context["readings"]
    # first: T0..T0+9h (10 rows), second: T0+10h..T0+24h (15 rows); nothing twice, nothing left out.
    assert readings.paginator.count == 25
    assert [row.stream for row in readings][:15] == [second] * 15
    assert [row.stream for row in readings][15:] == [first] * 10
    assert response.context["series_url"] == alias_url(alias, "series")


def test_the_series_joins_the_taps(org, joined):
    alias, _first, _second = joined
    data = logged_in(org.created_by).get(alias_url(alias, "series")).json()
    assert data["count"] == 25
    assert data["bucket_seconds"] is None
    assert data["x"] == sorted(data["x"])
    assert len(set(data["x"])) == 25
    assert data["x"][0] == T0.timestamp()
    assert data["x"][-1] == (T0 + 24 * HOUR).timestamp()
    assert data["series"][0]["label"] == "Inlet level"
    assert "min" not in data["series"][0]
    # A window: only what it covers.
    window = {"start": "2026-01-01T08:00:00Z", "end": "2026-01-01T12:00:00Z"}
    data = logged_in(org.created_by).get(alias_url(alias, "series"), window).json()
    assert data["x"] == [(T0 + h * HOUR).timestamp() for h in range(8, 12)]
    assert logged_in(org.created_by).get(alias_url(alias, "series"), {"start": "nonsense"}).status_code == 400


def test_a_long_series_is_downsampled_with_one_bucket_width(org):
    first = make_org_stream(org)
    second = make_stream(make_device(first.project), lid=0x5001)
    minute = timedelta(minutes=1)
    add_data(first, 3000, start=T0, step=minute)
    add_data(second, 3000, start=T0 + 3000 * minute, step=minute)
    alias = make_alias(org)
    make_tap(alias, first, T0)
    make_tap(alias, second, T0 + 3000 * minute)
    series = alias_data_series(ranges=alias_tap_ranges(alias=alias), start=T0, end=T0 + 6000 * minute)
    assert series.count == 6000
    assert len(series.x) <= SERIES_MAX_POINTS + 2
    assert series.bucket_seconds == 300
    assert series.lower is not None


def test_roles_and_scope(org, joined):
    alias, first, _ = joined
    member = logged_in(make_member(org, MEMBER))
    response = member.get(alias_url(alias))
    assert response.status_code == 200
    assert "tap_form" not in response.context
    assert (
        member.post(alias_url(alias, "tap-create"), {"stream": first.slug, "timestamp": "2026-03-01T00:00"}).status_code
        == 403
    )
    assert member.post(list_url(org, "create"), {"name": "x"}).status_code == 403
    # Operators read stream ids but not data: the taps without the series.
    operator = logged_in(make_member(org, OPERATOR))
    response = operator.get(alias_url(alias))
    assert response.status_code == 200
    assert "readings" not in response.context
    assert operator.get(alias_url(alias, "series")).status_code == 403
    stranger = make_org()
    outsider = logged_in(stranger.created_by)
    for path in (alias_url(alias), alias_url(alias, "series"), list_url(org)):
        assert outsider.get(path).status_code == 404
    assert (
        outsider.post(alias_url(alias, "tap-create"), {"stream": first.slug, "timestamp": "2026-03-01"}).status_code
        == 404
    )
    assert logged_in(org.created_by).get(alias_url(alias, org=stranger)).status_code == 404
    assert StreamAliasTap.objects.filter(alias=alias).count() == 2
    assert StreamAlias.objects.filter(org=org).count() == 1


def test_a_lenient_slug_redirects(org, joined):
    alias = joined[0]
    response = logged_in(org.created_by).get(alias_url(alias, slug=f"a--{alias.pk:X}"))
    assert response.status_code == 302
    assert response.url == alias_url(alias)


@pytest.mark.parametrize("rows", [1, 4])
def test_query_counts_are_constant(org, rows):
    for number in range(rows):
        alias = make_alias(org, f"Alias {number}")
        stream = make_org_stream(org)
        add_data(stream, 3, start=T0)
        make_tap(alias, stream, T0)
    client = logged_in(org.created_by)
    # session, user, organisation, role and permissions, aliases (count, page)
    with assert_query_count(6):
        response = client.get(list_url(org))
    assert response.context["aliases"].paginator.count == rows
    for number in range(1, rows):
        stream = make_org_stream(org)
        add_data(stream, 3, start=T0 + number * HOUR)
        make_tap(alias, stream, T0 + number * HOUR)
    # session, user, alias, role and permissions, the taps; the readings on streamdata (count, page)
    with assert_query_count(5), assert_query_count(2, using="streamdata"):
        response = client.get(alias_url(alias))
    assert len(response.context["taps"]) == rows
