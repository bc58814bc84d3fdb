"""Destinations, their status and their outbox rows on the wire. A destination's secret is written, never read
back (``has_secret`` says whether one is set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from server.apps.core.api.fields import OutboundURLField
from server.apps.forwarding.models import Delivery, Destination, DestinationKind
from server.apps.project.api.serializers import VisibleOrgField

if TYPE_CHECKING:
    from server.apps.org.models import Org


class DestinationSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = Destination
        fields = [
            "id",
            "org",
            "name",
            "kind",
            "is_active",
            "url",
            "headers",
            "has_secret",
            "timeout",
            "store",
            "prefix",
            "max_attempts",
            "backoff",
            "created_on",
            "created_by",
        ]
        read_only_fields = fields

    def get_has_secret(self, destination: Destination) -> bool:
        return bool(destination.secret)


class _DestinationFields(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    is_active = serializers.BooleanField(required=False)
    url = OutboundURLField(max_length=500, required=False, allow_blank=True)
    headers = serializers.DictField(child=serializers.CharField(max_length=1000), required=False)
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True, write_only=True)
    timeout = serializers.FloatField(min_value=0.1, max_value=60.0, required=False)
    store = serializers.CharField(max_length=63, required=False)
    prefix = serializers.CharField(max_length=200, required=False, allow_blank=True)
    max_attempts = serializers.IntegerField(min_value=1, max_value=50, required=False)
    backoff = serializers.FloatField(min_value=0.0, max_value=3600.0, required=False)


class DestinationCreateSerializer(_DestinationFields):
    org = VisibleOrgField()
    kind = serializers.ChoiceField(choices=DestinationKind.choices)


class DestinationUpdateSerializer(_DestinationFields):
    name = serializers.CharField(max_length=100, required=False)


class DestinationStatusSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    delivered = serializers.IntegerField()
    dead = serializers.IntegerField()
    oldest_pending = serializers.DateTimeField(allow_null=True)
    lag_seconds = serializers.FloatField(help_text="Age of the oldest undelivered message; 0 when none waits.")
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_delivered_on = serializers.DateTimeField(allow_null=True)


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "correlation_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_error",
            "created_on",
            "delivered_on",
            "message",
        ]
        read_only_fields = fields


class ReplaySerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="The dead letters to replay; all of the destination's when left out.",
    )


class ReplayResultSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()
