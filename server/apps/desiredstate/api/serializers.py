"""Desired states, their rollouts' progress and devices' current states on the wire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.operation.models import Transport

if TYPE_CHECKING:
    from server.apps.device.models import Device
    from server.apps.fleet.models import Fleet
    from server.apps.org.models import Org


class DesiredStateSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    fleet: serializers.SlugRelatedField[Fleet] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = DesiredState
        fields = [
            "id",
            "org",
            "device",
            "fleet",
            "version",
            "document",
            "batch",
            "device_count",
            "canceled_on",
            "created_on",
            "created_by",
        ]
        read_only_fields = fields


class DesiredStateCreateSerializer(serializers.Serializer):
    device = serializers.CharField(max_length=40, required=False, help_text="A device (d--…), or")
    fleet = serializers.CharField(max_length=40, required=False, help_text="a fleet (g--…): each current member.")
    domains = serializers.JSONField(help_text="[{id, config: [{key, value}], components: [{id, version, config}]}]")
    baselines = serializers.JSONField(required=False, help_text='[{title, description, components: ["domain:id"]}]')
    transport = serializers.ChoiceField(choices=Transport.choices, required=False)

    def validate(self, attrs):
        if ("device" in attrs) == ("fleet" in attrs):
            raise serializers.ValidationError({"device": ["Name a device or a fleet, not both."]})
        return attrs


class RolloutCountSerializer(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class RolloutDeviceSerializer(serializers.Serializer):
    device = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    activity = serializers.UUIDField(help_text="The activityId its feedback names.")
    state = serializers.CharField()
    state_label = serializers.CharField()
    feedback = serializers.CharField(help_text="Kanto's overall status in its latest feedback.")
    attempts = serializers.IntegerField()
    message = serializers.CharField()
    updated = serializers.CharField(allow_null=True)


class RolloutSerializer(serializers.Serializer):
    status = serializers.CharField()
    done = serializers.BooleanField()
    progress = serializers.FloatField(help_text="Percent of the devices that reported COMPLETED.")
    targets = serializers.IntegerField()
    counts = RolloutCountSerializer(many=True)
    devices = RolloutDeviceSerializer(many=True)


class CurrentStateSerializer(serializers.ModelSerializer):
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    hardwareNodes = serializers.JSONField(source="hardware_nodes", read_only=True)
    softwareNodes = serializers.JSONField(source="software_nodes", read_only=True)
    associations = serializers.JSONField(read_only=True)
    activityId = serializers.CharField(source="activity_id", read_only=True)

    class Meta:
        model = DeviceCurrentState
        fields = ["device", "activityId", "hardwareNodes", "softwareNodes", "associations", "reported_on"]
        read_only_fields = fields


class CurrentStateReportSerializer(serializers.Serializer):
    activityId = serializers.CharField(required=False, allow_blank=True, help_text="The refresh it answers, if any.")
    timestamp = serializers.IntegerField(required=False, help_text="Epoch milliseconds.")
    payload = serializers.JSONField(help_text="{hardwareNodes, softwareNodes, associations}")
