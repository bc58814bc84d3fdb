"""A device's health on the wire (``health/<d-->/``)."""

from __future__ import annotations

from datetime import timedelta

from rest_framework import serializers

from server.apps.health.models import DeviceHealth
from server.apps.health.services import MAX_PERIOD, MAX_RECIPIENTS, MIN_PERIOD


class DeviceHealthSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device.slug", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    period = serializers.SerializerMethodField(help_text="Seconds the device may stay quiet and still be OK.")
    recipients = serializers.ListField(source="recipient_list", child=serializers.EmailField(), read_only=True)

    class Meta:
        model = DeviceHealth
        fields = ["device", "status", "status_label", "changed_on", "period", "recipients"]
        read_only_fields = fields

    def get_period(self, health: DeviceHealth) -> int:
        return int(health.period.total_seconds())


class DeviceHealthUpdateSerializer(serializers.Serializer):
    period = serializers.IntegerField(
        required=False,
        min_value=int(MIN_PERIOD.total_seconds()),
        max_value=int(MAX_PERIOD.total_seconds()),
        help_text="Seconds the device may stay quiet and still be OK.",
    )
    recipients = serializers.ListField(
        required=False, child=serializers.EmailField(), max_length=MAX_RECIPIENTS, help_text="E-mail addresses."
    )

    def validate_period(self, value: int) -> timedelta:
        return timedelta(seconds=value)
