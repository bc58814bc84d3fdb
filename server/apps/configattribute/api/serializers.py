"""Config attribute names and attributes on the wire."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.configattribute.models import ConfigAttributeName, validate_config_name
from server.apps.core.api.fields import JSONField


class ConfigAttributeNameSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)

    class Meta:
        model = ConfigAttributeName
        fields = ["id", "name", "description", "tags", "created_on", "created_by"]
        read_only_fields = ["id", "created_on", "created_by"]
        # Uniqueness is the service's to report, with the one error shape.
        extra_kwargs = {"name": {"validators": [validate_config_name]}}


class ConfigAttributeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    target = serializers.CharField(
        required=False, max_length=200, help_text="^<org>, @<user>, or a p--, d-- or b-- slug; ?target= if left out."
    )
    target_kind = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=64, help_text="A name from config/name/ (':report:summary').")
    # DRF's serializer metaclass takes declared fields off the class, so this does not hide Serializer.data.
    data = JSONField()  # type: ignore[assignment]
    created_on = serializers.DateTimeField(read_only=True)
    updated_on = serializers.DateTimeField(read_only=True)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, allow_null=True)

    def to_representation(self, attribute) -> dict:
        data = super().to_representation(attribute)
        data["name"] = attribute.name.name
        return data


class ConfigAttributeUpdateSerializer(serializers.Serializer):
    # DRF's serializer metaclass takes declared fields off the class, so this does not hide Serializer.data.
    data = JSONField()  # type: ignore[assignment]
