"""Device templates on the wire (``IOTileCloud.set_device_template`` reads ``os_tag``)."""

from __future__ import annotations

from rest_framework import serializers

from server.apps.devicetemplate.models import DeviceTemplate
from server.apps.org.models import Org


class DeviceTemplateSerializer(serializers.ModelSerializer):
    org = serializers.SlugRelatedField(slug_field="slug", queryset=Org.objects.all(), required=False, allow_null=True)
    version = serializers.CharField(read_only=True)
    os_version = serializers.CharField(read_only=True)
    slug = serializers.SlugField(required=False, max_length=80)

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
            "released_on",
            "active",
            "created_on",
        ]
        read_only_fields = ["id", "created_on"]
