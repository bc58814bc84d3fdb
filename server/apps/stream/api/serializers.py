"""Variables and streams on the wire (iotile_clients.md §6 and §7 rows 18-19)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from server.apps.core.slugs import SlugError, parse_variable_lid
from server.apps.stream.models import RAW_VALUE_FORMAT_CHOICES, MdoType, StreamId, StreamVariable
from server.apps.vartype.api.serializers import InputUnitSerializer, OutputUnitSerializer

if TYPE_CHECKING:
    from server.apps.datablock.models import DataBlock
    from server.apps.device.models import Device
    from server.apps.org.models import Org
    from server.apps.project.models import Project
    from server.apps.vartype.models import VarType


MDO_FIELDS = ["multiplication_factor", "division_factor", "offset"]


def _not_zero(value: int) -> None:
    if value == 0:
        raise serializers.ValidationError("Must not be 0.")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0, "maximum": 0xFFFF},
            {"type": "string", "pattern": "^(0[xX])?[0-9a-fA-F]+$", "example": "5001"},
        ]
    }
)
class LocalIdField(serializers.Field):
    """A variable's local id: an integer, or a string of ASCII hex digits (``"5001"`` is 0x5001, ``"0x5001"`` too), as
    ``core.slugs.parse_variable_lid`` reads it."""

    default_error_messages = {"invalid": "Expected an integer or a hex string such as '5001' (0 to ffff)."}

    def to_internal_value(self, data) -> int:
        try:
            return parse_variable_lid(data)
        except SlugError:
            self.fail("invalid")

    def to_representation(self, value: int) -> int:
        return value


class VariableSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    project: serializers.PrimaryKeyRelatedField[Project] = serializers.PrimaryKeyRelatedField(read_only=True)
    project_slug = serializers.CharField(source="project.slug", read_only=True)
    var_type: serializers.SlugRelatedField[VarType] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    lid_hex = serializers.SerializerMethodField()

    class Meta:
        model = StreamVariable
        fields = [
            "id",
            "slug",
            "name",
            "about",
            "project",
            "project_slug",
            "org",
            "lid",
            "lid_hex",
            "var_type",
            "units",
            *MDO_FIELDS,
            "decimal_places",
            "raw_value_format",
            "app_only",
            "web_only",
            "created_on",
        ]
        read_only_fields = fields

    def get_lid_hex(self, variable: StreamVariable) -> str:
        return f"{variable.lid:04x}"


class VariableWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    about = serializers.CharField(required=False, allow_blank=True)
    units = serializers.CharField(required=False, allow_blank=True, max_length=50)
    var_type = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="A vartype slug.")
    multiplication_factor = serializers.IntegerField(required=False)
    division_factor = serializers.IntegerField(required=False, validators=[_not_zero])
    offset = serializers.FloatField(required=False)
    decimal_places = serializers.IntegerField(required=False, min_value=0, max_value=20)
    raw_value_format = serializers.ChoiceField(choices=RAW_VALUE_FORMAT_CHOICES, required=False)
    app_only = serializers.BooleanField(required=False)
    web_only = serializers.BooleanField(required=False)


class VariableCreateSerializer(VariableWriteSerializer):
    project = serializers.CharField(help_text="The project's id or p-- slug.")
    lid = LocalIdField(help_text="The local id: an integer or hex digits ('5001').")


class StreamSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    project: serializers.PrimaryKeyRelatedField[Project] = serializers.PrimaryKeyRelatedField(read_only=True)
    project_slug = serializers.SerializerMethodField()
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    block: serializers.SlugRelatedField[DataBlock] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    variable: serializers.SlugRelatedField[StreamVariable] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    var_type: serializers.SlugRelatedField[VarType] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    input_unit = InputUnitSerializer(read_only=True, allow_null=True)
    output_unit = OutputUnitSerializer(read_only=True, allow_null=True)
    data_type = serializers.SerializerMethodField()

    class Meta:
        model = StreamId
        fields = [
            "id",
            "slug",
            "project",
            "project_slug",
            "device",
            "block",
            "variable",
            "data_label",
            "var_name",
            "var_lid",
            "var_type",
            "data_type",
            "input_unit",
            "output_unit",
            "mdo_type",
            *MDO_FIELDS,
            "raw_value_format",
            "is_encoded",
            "enabled",
            "org",
            "created_on",
        ]
        read_only_fields = fields

    def get_project_slug(self, stream: StreamId) -> str | None:
        return stream.project_slug

    def get_data_type(self, stream: StreamId) -> str | None:
        return stream.var_type.stream_data_type if stream.var_type is not None else None


class StreamWriteSerializer(serializers.Serializer):
    data_label = serializers.CharField(required=False, allow_blank=True, max_length=60)
    var_type = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="A vartype slug.")
    input_unit = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="A unit slug.")
    output_unit = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="A unit slug.")
    mdo_type = serializers.ChoiceField(choices=MdoType.choices, required=False)
    multiplication_factor = serializers.IntegerField(required=False)
    division_factor = serializers.IntegerField(required=False, validators=[_not_zero])
    offset = serializers.FloatField(required=False)
    raw_value_format = serializers.ChoiceField(choices=RAW_VALUE_FORMAT_CHOICES, required=False)
    is_encoded = serializers.BooleanField(required=False)
    enabled = serializers.BooleanField(required=False)


class StreamCreateSerializer(StreamWriteSerializer):
    variable = serializers.CharField(help_text="The variable's v-- slug.")
    device = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="The device's d-- slug; none for a project stream."
    )
