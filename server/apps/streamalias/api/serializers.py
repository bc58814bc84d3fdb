"""Stream aliases and taps on the wire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from server.apps.project.api.serializers import VisibleOrgField
from server.apps.streamalias.models import StreamAlias, StreamAliasTap

if TYPE_CHECKING:
    from server.apps.org.models import Org
    from server.apps.stream.models import StreamId


class StreamAliasSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = StreamAlias
        fields = ["id", "slug", "name", "org", "created_on", "created_by"]
        read_only_fields = fields


class StreamAliasCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    org = VisibleOrgField()


class StreamAliasUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class StreamAliasTapSerializer(serializers.ModelSerializer):
    alias: serializers.SlugRelatedField[StreamAlias] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    stream: serializers.SlugRelatedField[StreamId] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="None: a gap (nothing is read from here on)."
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = StreamAliasTap
        fields = ["id", "alias", "timestamp", "stream", "created_on", "created_by"]
        read_only_fields = fields


class StreamAliasTapCreateSerializer(serializers.Serializer):
    alias = serializers.CharField(help_text="The alias's a-- slug.")
    timestamp = serializers.DateTimeField(help_text="ISO 8601; from this instant on the alias reads the stream.")
    stream = serializers.CharField(help_text="The s-- slug of the stream to read.")


class StreamAliasTapUpdateSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField(required=False)
    stream = serializers.CharField(required=False)
