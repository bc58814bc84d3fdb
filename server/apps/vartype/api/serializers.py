"""Variable types and their units on the wire."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit


def _not_zero(value: int) -> None:
    if value == 0:
        raise serializers.ValidationError("Must not be 0.")


class InputUnitSerializer(serializers.ModelSerializer):
    d = serializers.IntegerField(required=False, validators=[_not_zero])

    class Meta:
        model = VarTypeInputUnit
        fields = ["slug", "unit_full", "unit_short", "m", "d", "o"]
        read_only_fields = ["slug"]


class OutputUnitSerializer(serializers.ModelSerializer):
    d = serializers.IntegerField(required=False, validators=[_not_zero])
    derived_units = serializers.DictField(required=False)

    class Meta:
        model = VarTypeOutputUnit
        fields = ["slug", "unit_full", "unit_short", "m", "d", "o", "decimal_places", "derived_units"]
        read_only_fields = ["slug"]


class VarTypeSerializer(serializers.ModelSerializer):
    """A type with its units nested as analytics reads them; on writes, units sent are added or updated."""

    available_input_units = InputUnitSerializer(source="input_units", many=True, required=False)
    available_output_units = OutputUnitSerializer(source="output_units", many=True, required=False)
    slug = serializers.SlugField(required=False, max_length=60)

    class Meta:
        model = VarType
        fields = [
            "id",
            "name",
            "slug",
            "storage_units_full",
            "storage_units_short",
            "stream_data_type",
            "is_encoded",
            "available_input_units",
            "available_output_units",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]
