"""What search finds among devices: their label and external id as words, their slug and external id in pieces."""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf

from server.apps.core import slugs
from server.apps.device.models import Device
from server.apps.search.registry import SearchIndex, canonical_from, register_search


@register_search
class DeviceIndex(SearchIndex):
    model = Device
    kind = "device"
    fields = (("label", "A"), ("external_id", "B"))
    fragment_fields = ("external_id",)
    slug_letter = "d"

    def title_expression(self):
        return Coalesce(NullIf(F("label"), Value("")), F("slug"))

    def detail_expression(self):
        return F("external_id")

    def canonical_slug(self, text: str) -> str | None:
        return canonical_from(text, "d", slugs.parse_device_slug, slugs.device_slug)
