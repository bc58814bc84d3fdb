"""The project's UTC date-time field: any ISO 8601 time in, UTC out, ``Z`` and a four-digit year on the wire."""

from __future__ import annotations

import datetime

import pytest
from rest_framework import serializers

from server.apps.core.api.fields import UTCDateTimeField

UTC = datetime.UTC


def test_written_in_utc_with_z():
    moment = datetime.datetime(2026, 12, 6, 20, 0, 1, 250000, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert UTCDateTimeField().to_representation(moment) == "2026-12-06T19:00:01.250000Z"
    assert UTCDateTimeField(whole_seconds=True).to_representation(moment) == "2026-12-06T19:00:01Z"
    assert UTCDateTimeField(whole_seconds=True).to_representation(datetime.datetime(5, 1, 2, tzinfo=UTC)) == (
        "0005-01-02T00:00:00Z"
    )
    assert UTCDateTimeField().to_representation(None) is None


def test_read_in_utc():
    field = UTCDateTimeField()
    assert field.to_internal_value("2026-12-06T20:00:00+01:00") == datetime.datetime(2026, 12, 6, 19, tzinfo=UTC)
    assert field.to_internal_value("2026-12-06T19:00:00") == datetime.datetime(2026, 12, 6, 19, tzinfo=UTC)
    assert field.to_internal_value("2026-12-06T19:00:00-18:04").utcoffset() == datetime.timedelta(0)
    for refused in ("0001-01-01T00:00:00+01:00", "yesterday", ""):
        with pytest.raises(serializers.ValidationError):
            field.to_internal_value(refused)
