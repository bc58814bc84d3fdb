"""Sensor graphs on the wire (``IOTileCloud.set_sensorgraph`` reads ``app_tag``)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.org.models import Org
from server.apps.sensorgraph.models import SensorGraph


class SensorGraphSerializer(serializers.ModelSerializer):
    org = serializers.SlugRelatedField(slug_field="slug", queryset=Org.objects.all(), required=False, allow_null=True)
    version = serializers.CharField(read_only=True)
    app_version = serializers.CharField(read_only=True)
    slug = serializers.SlugField(required=False, max_length=80)

    class Meta:
        model = SensorGraph
        fields = [
            "id",
            "name",
            "slug",
            "org",
            "description",
            "major_version",
            "minor_version",
            "patch_version",
            "version",
            "app_tag",
            "app_major_version",
            "app_minor_version",
            "app_version",
            "report_processing_engine_ver",
            "ui_extra",
            "active",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]
