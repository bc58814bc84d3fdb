"""Sensor graphs and variable templates on the wire (``IOTileCloud.set_sensorgraph`` reads ``app_tag``)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.core.api.fields import JSONField
from server.apps.org.models import Org
from server.apps.sensorgraph.models import SensorGraph, VariableTemplate
from server.apps.stream.api.serializers import LocalIdField
from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit


def _not_zero(value: int) -> None:
    if value == 0:
        raise serializers.ValidationError("Must not be 0.")


class VariableTemplateSerializer(serializers.ModelSerializer):
    sg = serializers.SlugRelatedField(slug_field="slug", queryset=SensorGraph.objects.all())
    lid_hex = LocalIdField(source="lid", help_text="The variable's local id: hex digits ('5001') or an integer.")
    var_type = serializers.SlugRelatedField(
        slug_field="slug", queryset=VarType.objects.all(), required=False, allow_null=True
    )
    default_input_unit = serializers.SlugRelatedField(
        slug_field="slug", queryset=VarTypeInputUnit.objects.all(), required=False, allow_null=True
    )
    default_output_unit = serializers.SlugRelatedField(
        slug_field="slug", queryset=VarTypeOutputUnit.objects.all(), required=False, allow_null=True
    )
    d = serializers.IntegerField(required=False, validators=[_not_zero])

    class Meta:
        model = VariableTemplate
        fields = [
            "id",
            "sg",
            "label",
            "lid_hex",
            "var_type",
            "m",
            "d",
            "o",
            "ctype",
            "default_input_unit",
            "default_output_unit",
            "app_only",
            "web_only",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]

    def to_representation(self, instance: VariableTemplate) -> dict:
        data = super().to_representation(instance)
        data["lid_hex"] = instance.lid_hex
        return data


class SensorGraphSerializer(serializers.ModelSerializer):
    org = serializers.SlugRelatedField(slug_field="slug", queryset=Org.objects.all(), required=False, allow_null=True)
    version = serializers.CharField(read_only=True)
    app_version = serializers.CharField(read_only=True, help_text="'<major>.<minor>'")
    slug = serializers.SlugField(required=False, max_length=80)
    variable_templates = VariableTemplateSerializer(many=True, read_only=True)
    ui_extra = JSONField(required=False)

    class Meta:
        model = SensorGraph
        fields = [
            "id",
            "name",
            "slug",
            "org",
            "description",
            "major_version",
            "minor_version",
            "patch_version",
            "version",
            "app_tag",
            "app_major_version",
            "app_minor_version",
            "app_version",
            "report_processing_engine_ver",
            "ui_extra",
            "variable_templates",
            "active",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]
