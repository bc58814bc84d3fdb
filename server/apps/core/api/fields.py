"""Serializer fields shared by the API's apps."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers

from server.apps.core.inputs import InputError, json_loads, utc_datetime
from server.apps.core.outbound import validate_outbound_url


class JSONField(serializers.JSONField):
    """DRF's JSON field, with the strict decoding of core/inputs.py for JSON sent as text (a form field), and no
    ``null`` from that text unless the field allows it: DRF checks for null before it decodes a form's ``"null"``,
    so a not-null column would otherwise get one."""

    def to_internal_value(self, data: Any) -> Any:
        if not (self.binary or getattr(data, "is_json_string", False)):
            return super().to_internal_value(data)
        try:
            value = json_loads(data)
        except InputError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        if value is None and not self.allow_null:
            self.fail("null")
        return value


class UTCDateTimeField(serializers.DateTimeField):
    """A time on the wire, in UTC. Any ISO 8601 time is read, and kept in UTC: PostgreSQL refuses some offsets
    Python accepts, and a time UTC cannot hold is a 400 (core/inputs.py). It is written as ISO 8601 ending in ``Z``
    with a four-digit year; ``whole_seconds=True`` drops the fraction, ``%Y-%m-%dT%H:%M:%SZ`` (the updater's
    format, iotile_clients.md §5)."""

    def __init__(self, *args: Any, whole_seconds: bool = False, **kwargs: Any) -> None:
        self.whole_seconds = whole_seconds
        super().__init__(*args, **kwargs)

    def to_representation(self, value: datetime.datetime | None) -> str | None:  # type: ignore[override]
        if value is None:
            return None
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        # isoformat() rather than strftime: strftime's %Y drops a small year's zeros.
        return (value.replace(microsecond=0) if self.whole_seconds else value).isoformat() + "Z"

    def to_internal_value(self, value: Any) -> datetime.datetime:
        try:
            return utc_datetime(super().to_internal_value(value))
        except InputError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class OutboundURLField(serializers.URLField):
    """A URL the platform sends to for a user (a webhook): the outbound guard's check (core/outbound.py) in place of
    the plain URL check, so a refused URL's 400 says why."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, URLValidator)] + [validate_outbound_url]
