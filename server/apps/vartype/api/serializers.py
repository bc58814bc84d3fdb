"""Variable types and their units on the wire."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit


class InputUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = VarTypeInputUnit
        fields = ["slug", "unit_full", "unit_short", "m", "d", "o"]


class OutputUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = VarTypeOutputUnit
        fields = ["slug", "unit_full", "unit_short", "m", "d", "o", "decimal_places", "derived_units"]


class VarTypeSerializer(serializers.ModelSerializer):
    available_input_units = InputUnitSerializer(source="input_units", many=True, read_only=True)
    available_output_units = OutputUnitSerializer(source="output_units", many=True, read_only=True)
    slug = serializers.SlugField(required=False, max_length=60)

    class Meta:
        model = VarType
        fields = [
            "id",
            "name",
            "slug",
            "storage_units_full",
            "stream_data_type",
            "is_encoded",
            "available_input_units",
            "available_output_units",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]
