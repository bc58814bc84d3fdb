"""Device templates and components on the wire (``IOTileCloud.set_device_template`` reads ``os_tag``)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.devicetemplate.models import Component, DeviceSlot, DeviceTemplate
from server.apps.org.models import Org


class ComponentSerializer(serializers.ModelSerializer):
    version = serializers.CharField(read_only=True)
    slug = serializers.SlugField(required=False, max_length=80)

    class Meta:
        model = Component
        fields = [
            "id",
            "external_sku",
            "internal_sku",
            "slug",
            "type",
            "description",
            "major_version",
            "minor_version",
            "patch_version",
            "version",
            "hw_tag",
            "hw_name",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]


class SlotComponentSerializer(serializers.ModelSerializer):
    """A template's component as listed in the template: the slot it sits in and what it is."""

    slot = serializers.IntegerField(source="number")
    slug = serializers.CharField(source="component.slug")
    external_sku = serializers.CharField(source="component.external_sku")
    type = serializers.CharField(source="component.type")
    hw_tag = serializers.CharField(source="component.hw_tag")
    version = serializers.CharField(source="component.version")

    class Meta:
        model = DeviceSlot
        fields = ["slot", "slug", "external_sku", "type", "hw_tag", "version"]
        read_only_fields = fields


class SlotWriteSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=0, max_value=32767)
    component = serializers.CharField(help_text="A component slug.")


class DeviceTemplateSerializer(serializers.ModelSerializer):
    org = serializers.SlugRelatedField(slug_field="slug", queryset=Org.objects.all(), required=False, allow_null=True)
    version = serializers.CharField(read_only=True)
    os_version = serializers.CharField(read_only=True, help_text="'<major>.<minor>'")
    slug = serializers.SlugField(required=False, max_length=80)
    components = SlotComponentSerializer(source="slots", many=True, read_only=True)
    slots = SlotWriteSerializer(
        many=True, required=False, write_only=True, help_text="Replaces the components: [{number, component}]."
    )

    class Meta:
        model = DeviceTemplate
        fields = [
            "id",
            "external_sku",
            "internal_sku",
            "family",
            "slug",
            "org",
            "description",
            "major_version",
            "minor_version",
            "patch_version",
            "version",
            "os_tag",
            "os_major_version",
            "os_minor_version",
            "os_version",
            "hw_tag",
            "hw_major_version",
            "components",
            "slots",
            "released_on",
            "active",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]
