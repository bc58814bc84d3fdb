"""Data blocks on the wire (read by iotile-analytics: ``datablock/<b>/``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from server.apps.core.api.fields import JSONField
from server.apps.core.api.routers import api_url
from server.apps.datablock.models import DataBlock

if TYPE_CHECKING:
    from server.apps.authentication.models import Account
    from server.apps.device.models import Device
    from server.apps.org.models import Org
    from server.apps.sensorgraph.models import SensorGraph


class DataBlockSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    sg: serializers.SlugRelatedField[SensorGraph] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by: serializers.SlugRelatedField[Account] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

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
            "status",
            "progress",
            "on_complete",
        ]
        read_only_fields = fields


class DataBlockCreateSerializer(serializers.Serializer):
    device = serializers.CharField(help_text="The device to archive (d-- slug or integer id).")
    title = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    on_complete = JSONField(
        required=False, help_text='What the device becomes afterwards: {"state": "N0"|"N1", "label": "…"}.'
    )


class DataBlockCreatedSerializer(DataBlockSerializer):
    """The new block, with where to follow the archive's progress."""

    progress_url = serializers.SerializerMethodField()

    class Meta(DataBlockSerializer.Meta):
        fields = [*DataBlockSerializer.Meta.fields, "progress_url"]
        read_only_fields = fields

    def get_progress_url(self, block: DataBlock) -> str:
        path = api_url("datablock-detail", slug=block.slug)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DataBlockUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
