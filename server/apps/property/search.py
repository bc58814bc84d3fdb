"""What search finds among properties: their name and value as words, and the slug of what they describe.

A hit links to the page of the device, project or data block the property describes.
"""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse

from server.apps.property.models import GenericProperty
from server.apps.search.links import object_url
from server.apps.search.registry import TEXT, SearchIndex, register_search


@register_search
class PropertyIndex(SearchIndex):
    model = GenericProperty
    kind = "property"
    fields = (("name", "A"), ("str_value", "B"))
    fragment_fields = ("str_value",)

    def slug_expression(self):
        return F("target")

    def title_expression(self):
        return Concat(F("name"), Value(" = "), F("str_value"), output_field=TEXT)

    def detail_expression(self):
        return F("target")

    def link_kind_expression(self):
        return F("target_kind")

    def url(self, row):
        url = object_url(row["hit_link_kind"], row["hit_slug"], org=row["hit_org"])
        return url or reverse("property-detail", args=[row["hit_pk"]])

    def instance_slug(self, obj):
        return obj.target
