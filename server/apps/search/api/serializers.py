"""Search hits on the wire."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.search.selectors import MAX_QUERY_LENGTH


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH, trim_whitespace=True, help_text="What to look for.")


class SearchResultSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="device, project, datablock or property")
    slug = serializers.CharField(help_text="The object's slug; for a property, the slug of what it describes.")
    title = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="Its dashboard page, or its API detail.")
    org = serializers.CharField(allow_null=True, help_text="The organisation's slug.")
    score = serializers.FloatField()
