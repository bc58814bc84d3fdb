"""Device operations on the wire: for users (list, detail, create) and for devices (the poll's requests and the
replies, in the MQTT messages' shape)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.operation.models import DeviceOperation, Transport


class OperationSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device.slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = DeviceOperation
        fields = [
            "id",
            "device",
            "kind",
            "name",
            "payload",
            "transport",
            "status",
            "attempts",
            "deadline",
            "heartbeat_seconds",
            "history",
            "result",
            "error",
            "batch",
            "created_on",
            "created_by",
            "sent_on",
            "closed_on",
        ]
        read_only_fields = fields


class OperationCreateSerializer(serializers.Serializer):
    device = serializers.CharField(required=False, max_length=40, help_text="A d-- slug; or give project or fleet.")
    project = serializers.CharField(
        required=False, max_length=40, help_text="A p-- slug or id: one operation for each of its devices."
    )
    fleet = serializers.CharField(
        required=False, max_length=40, help_text="A g-- slug: one operation for each of its devices you can see."
    )
    kind = serializers.CharField(max_length=32, help_text="command, config (operation.kinds).")
    name = serializers.CharField(required=False, max_length=64, help_text="The request's name (config: SET_TEMP …).")
    payload = serializers.JSONField(
        required=False,
        help_text=(
            "What is sent as the request's value; a command: {command, service}. A kind that takes none "
            "(currentstate) or whose payload is optional (upload) may leave it out: it is then {}."
        ),
    )
    transport = serializers.ChoiceField(choices=Transport.choices, required=False)
    deadline_seconds = serializers.IntegerField(required=False, min_value=1)
    heartbeat_seconds = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict) -> dict:
        if sum(name in attrs for name in ("device", "project", "fleet")) != 1:
            raise serializers.ValidationError({"device": ["Give one of a device, a project or a fleet."]})
        return attrs


class OperationBatchSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    batch = serializers.UUIDField(allow_null=True)
    results = OperationSerializer(many=True)


class DeviceRequestSerializer(serializers.Serializer):
    """A request as the device reads it: the MQTT request's shape."""

    operationId = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField()
    value = serializers.JSONField()
    timestamp = serializers.IntegerField(help_text="Epoch milliseconds.")


class DeviceReplySerializer(serializers.Serializer):
    """A device's reply: ``{operationId, name, type: RESP, status, value, error, timestamp}``."""

    operationId = serializers.CharField(max_length=80)
    name = serializers.CharField(required=False, allow_blank=True, max_length=64)
    type = serializers.ChoiceField(choices=["RESP"], required=False)
    status = serializers.CharField(max_length=32)
    value = serializers.JSONField(required=False, allow_null=True)
    error = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=2000)
    timestamp = serializers.IntegerField(required=False, allow_null=True)


class DeviceReplyOutcomeSerializer(serializers.Serializer):
    operationId = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["recorded", "progress", "duplicate", "unknown"])
    status = serializers.CharField(allow_null=True)


class MqttLoginRequestSerializer(serializers.Serializer):
    device = serializers.CharField(max_length=40)
    rotate = serializers.BooleanField(default=False, help_text="A new password; the old one stops working.")


class MqttLoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField()
    broker = serializers.CharField(help_text="host:port devices connect to (MQTT_DEVICE_BROKER); may be empty.")
    topics = serializers.CharField(help_text="The only topics the login reaches.")
