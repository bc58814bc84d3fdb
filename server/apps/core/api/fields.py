"""Serializer fields shared by the API's apps."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from server.apps.core.inputs import InputError, json_loads


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
