"""Every time filter of the API reads its ISO 8601 value in UTC: an offset PostgreSQL cannot hold (``-22:20``) is
turned into UTC and a time UTC cannot hold is a 400 naming the filter. django-filter's own time filter passed such an
offset to the database, a 500 (``audit/?until=0450-01-26T20:27:13-22:20``)."""

from __future__ import annotations

import django_filters
import pytest

from server.apps.core.filtersets import IsoDateTimeFilter
from server.apps.core.testing import api_client, loose_filters, make_user


def test_every_time_filter_of_the_api_reads_utc():
    assert loose_filters(django_filters.DateTimeFilter, IsoDateTimeFilter) == []


PATHS = [
    ("/api/v1/audit/", "until"),
    ("/api/v1/audit/", "since"),
    ("/api/v1/alert/", "since"),
    ("/api/v1/rawmessage/", "start"),
]


@pytest.mark.parametrize(("path", "name"), PATHS)
@pytest.mark.parametrize("value", ["0450-01-26T20:27:13-22:20", "2026-01-01T00:00:00+18:04"])
def test_an_offset_postgresql_cannot_hold_is_read_in_utc(db, path, name, value):
    response = api_client(make_user(is_staff=True)).get(path, {name: value})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"] == []


@pytest.mark.parametrize(("path", "name"), PATHS)
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_time_utc_cannot_hold_is_a_400_naming_the_filter(db, path, name, value):
    response = api_client(make_user(is_staff=True)).get(path, {name: value})
    assert response.status_code == 400, response.content[:300]
    assert name in response.json()
