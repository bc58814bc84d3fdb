"""Data blocks on the wire (read by iotile-analytics: ``datablock/<b>/``)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.datablock.models import DataBlock


class DataBlockSerializer(serializers.ModelSerializer):
    org = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    device = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    sg = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DataBlock
        fields = [
            "id",
            "slug",
            "title",
            "description",
            "org",
            "device",
            "block",
            "sg",
            "created_on",
            "created_by",
            "completed_on",
        ]
        read_only_fields = fields
