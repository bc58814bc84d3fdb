"""Properties and property templates on the wire: ``value`` is typed (a number, a boolean or text), ``str_value``
is how it is stored."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.core.api.fields import JSONField
from server.apps.core.models import TARGET_MAX_LENGTH
from server.apps.property.models import STR_VALUE_MAX_LENGTH, PropertyType


class GenericPropertySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    target = serializers.CharField(
        required=False, max_length=TARGET_MAX_LENGTH, help_text="A d--, p-- or b-- slug; ?target= when left out."
    )
    name = serializers.CharField(max_length=60)
    type = serializers.ChoiceField(
        choices=PropertyType.choices, required=False, help_text="Inferred from the value (or the org's template)."
    )
    value = JSONField(help_text="A number, true/false or text, as the type says.")
    str_value = serializers.CharField(read_only=True)
    is_system = serializers.BooleanField(required=False, default=False)
    created_on = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)


class GenericPropertyUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    type = serializers.ChoiceField(choices=PropertyType.choices, required=False)
    value = JSONField(required=False)
    is_system = serializers.BooleanField(required=False)


class PropertyTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    org = serializers.CharField(source="org.slug", read_only=True, allow_null=True)
    name = serializers.CharField(max_length=60)
    type = serializers.ChoiceField(choices=PropertyType.choices, required=False, default=PropertyType.STR)
    default = JSONField(required=False)
    is_system = serializers.BooleanField(required=False, default=False)
    enums = serializers.ListField(
        child=JSONField(),
        required=False,
        write_only=True,  # shown as text by to_representation
        help_text="The only values properties of this name may take; empty for any.",
    )
    created_on = serializers.DateTimeField(read_only=True)

    def to_representation(self, template) -> dict:
        data = super().to_representation(template)
        data["enums"] = [enum.value for enum in template.enums.all()]
        return data


class PropertyTemplateCreateSerializer(PropertyTemplateSerializer):
    org = serializers.CharField(required=False, help_text="The organisation's slug; ?org= when left out.")


class PropertyTemplateUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    type = serializers.ChoiceField(choices=PropertyType.choices, required=False)
    default = JSONField(required=False)
    is_system = serializers.BooleanField(required=False)
    enums = serializers.ListField(child=JSONField(), required=False)


class PropertyEnumSerializer(serializers.Serializer):
    value = serializers.CharField(max_length=STR_VALUE_MAX_LENGTH)
