"""Fleets and their members on the wire (iotile_clients.md §7, rows 16 and 17)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from server.apps.fleet.models import Fleet, FleetMembership
from server.apps.project.api.serializers import VisibleOrgField

if TYPE_CHECKING:
    from server.apps.device.models import Device
    from server.apps.org.models import Org


class FleetSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    device_count = serializers.IntegerField(source="member_count", read_only=True, default=None)

    class Meta:
        model = Fleet
        fields = ["id", "slug", "name", "description", "org", "is_network", "device_count", "created_on", "created_by"]
        read_only_fields = fields


class FleetCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    org = VisibleOrgField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    is_network = serializers.BooleanField(required=False, default=False)


class FleetUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    is_network = serializers.BooleanField(required=False)


class FleetMemberSerializer(serializers.ModelSerializer):
    """A member as ``IOTileCloud.get_fleet`` reads it: ``{device, is_access_point, always_on}``."""

    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = FleetMembership
        fields = ["device", "is_access_point", "always_on"]
        read_only_fields = fields


class FleetRegisterSerializer(serializers.Serializer):
    device = serializers.CharField(help_text="The device's d-- slug (or integer id).")
    is_access_point = serializers.BooleanField(required=False, default=False)
    always_on = serializers.BooleanField(required=False, default=False)


class FleetDeregisterSerializer(serializers.Serializer):
    device = serializers.CharField(help_text="The device's d-- slug (or integer id).")
