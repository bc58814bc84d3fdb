"""Query-string filters on variables and streams (API and dashboard)."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, StrictBooleanFilter, device_id_from, project_filter
from server.apps.core.slugs import parse_block_slug
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.selectors import variable_lookup


def _device_or_block(value: str) -> dict:
    """``d--`` names the device's live streams; ``b--`` the streams archived in a data block."""
    if value.startswith("b--"):
        return _block(value)
    return {"device_id": device_id_from(value), "block__isnull": True}


def _block(value: str) -> dict:
    """A data block by its ``b--`` slug (or the four-group ``d--`` form), or by its integer id."""
    if value.strip().isascii() and value.strip().isdecimal():
        return {"block_id": int(value)}
    device_id, block = parse_block_slug(value)
    return {"block__device_id": device_id, "block__block": block}


class VariableFilterSet(django_filters.FilterSet):
    project = project_filter()
    org = django_filters.CharFilter(field_name="org__slug")
    org__slug = django_filters.CharFilter(field_name="org__slug")

    class Meta:
        model = StreamVariable
        fields: list[str] = []


class StreamFilterSet(django_filters.FilterSet):
    project = project_filter()
    org = django_filters.CharFilter(field_name="org__slug")
    org__slug = django_filters.CharFilter(field_name="org__slug")
    device = PublicIdFilter(field_name="device", lookup=_device_or_block)
    block = PublicIdFilter(field_name="block", lookup=_block)
    variable = PublicIdFilter(
        field_name="variable", lookup=lambda value: {"variable__" + k: v for k, v in variable_lookup(value).items()}
    )
    enabled = StrictBooleanFilter(field_name="enabled")
    # The clients send ?all=1 to ask for every stream, disabled ones included; lists always include them.
    all = StrictBooleanFilter(method="include_all", label="all")

    class Meta:
        model = StreamId
        fields: list[str] = []

    def include_all(self, queryset, name, value):
        return queryset
