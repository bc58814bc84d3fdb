"""The shapes of devices on the wire (iotile_clients.md §7 rows 6-11)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from server.apps.device.models import MAX_LATITUDE, MAX_LONGITUDE, Device

if TYPE_CHECKING:
    from server.apps.authentication.models import Account
    from server.apps.devicetemplate.models import DeviceTemplate
    from server.apps.org.models import Org
    from server.apps.project.models import Project
    from server.apps.sensorgraph.models import SensorGraph


def coordinate_field(limit: int, **kwargs: Any) -> serializers.DecimalField:
    """A latitude (``MAX_LATITUDE``) or a longitude (``MAX_LONGITUDE``) in degrees, as a number; past it, a 400."""
    return serializers.DecimalField(
        max_digits=12, decimal_places=9, min_value=-limit, max_value=limit, coerce_to_string=False, **kwargs
    )


class DeviceSerializer(serializers.ModelSerializer):
    gid = serializers.CharField(read_only=True)
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    project: serializers.PrimaryKeyRelatedField[Project] = serializers.PrimaryKeyRelatedField(read_only=True)
    project_slug = serializers.SerializerMethodField()
    sg: serializers.SlugRelatedField[SensorGraph] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    template: serializers.SlugRelatedField[DeviceTemplate] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    claimed_by: serializers.SlugRelatedField[Account] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    lat = serializers.DecimalField(max_digits=12, decimal_places=9, coerce_to_string=False, read_only=True)
    lon = serializers.DecimalField(max_digits=12, decimal_places=9, coerce_to_string=False, read_only=True)
    busy = serializers.BooleanField(read_only=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "slug",
            "gid",
            "label",
            "lat",
            "lon",
            "external_id",
            "sg",
            "template",
            "org",
            "project",
            "project_slug",
            "active",
            "state",
            "busy",
            "created_on",
            "claimed_on",
            "claimed_by",
            "last_known_id",
        ]
        read_only_fields = fields

    def get_project_slug(self, device: Device) -> str | None:
        return device.project.slug if device.project is not None else None


class DeviceCreateSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False, min_value=1, help_text="The serial number; the next free one if left out."
    )
    # DRF's serializer metaclass takes declared fields off the class, so this does not hide Field.label.
    label = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")  # type: ignore[assignment]
    sg = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="A sensor graph slug.")
    template = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="A device template slug."
    )
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")


class DeviceUpdateSerializer(serializers.Serializer):
    # DRF's serializer metaclass takes declared fields off the class, so this does not hide Field.label.
    label = serializers.CharField(required=False, allow_blank=True, max_length=100)  # type: ignore[assignment]
    lat = coordinate_field(MAX_LATITUDE, required=False, allow_null=True)
    lon = coordinate_field(MAX_LONGITUDE, required=False, allow_null=True)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    active = serializers.BooleanField(required=False)
    sg = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="A sensor graph slug.")
    template = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="A device template slug (staff, with ?staff=1)."
    )


class DeviceClaimSerializer(serializers.Serializer):
    device = serializers.CharField(help_text="The device's slug (or integer id).")
    project = serializers.CharField(help_text="The project's id or p-- slug.")
    claim_key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="The device's claim key, for a device that has one (as printed with it; dashes and case ignored).",
    )


class DeviceClaimResultSerializer(serializers.Serializer):
    claimed = serializers.BooleanField()
    device = serializers.CharField()
    project = serializers.CharField()
    project_id = serializers.UUIDField()


class DeviceClaimableSerializer(serializers.Serializer):
    slugs = serializers.ListField(child=serializers.CharField(), allow_empty=True)


class ClaimableEntrySerializer(serializers.Serializer):
    slug = serializers.CharField()
    claimable = serializers.BooleanField()


class DeviceClaimableResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = ClaimableEntrySerializer(many=True)


class DeviceUnclaimSerializer(serializers.Serializer):
    # DRF's serializer metaclass takes declared fields off the class, so this does not hide Field.label.
    label = serializers.CharField(required=False, allow_blank=True, max_length=100)  # type: ignore[assignment]
    clean_streams = serializers.BooleanField(required=False, default=False)


class DeviceUnclaimResultSerializer(serializers.Serializer):
    unclaimed = serializers.BooleanField()
    device = serializers.CharField()
    deleted_data = serializers.IntegerField()


class StreamCountSerializer(serializers.Serializer):
    data_cnt = serializers.IntegerField()
    event_cnt = serializers.IntegerField()
    has_streamid = serializers.BooleanField()


class DeviceExtraSerializer(serializers.Serializer):
    stream_counts = serializers.DictField(child=StreamCountSerializer())


class DeviceReplaceSerializer(serializers.Serializer):
    new_device = serializers.CharField(help_text="The replacing device (d-- slug or integer id).")
    timestamp = serializers.DateTimeField(help_text="ISO 8601: from this instant on, the series read the new device.")
    claim_key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="The new device's claim key, when it is unclaimed and has one (dashes and case ignored).",
    )


class ReplacedStreamSerializer(serializers.Serializer):
    alias = serializers.CharField(source="alias.slug")
    alias_name = serializers.CharField(source="alias.name")
    old_stream = serializers.CharField(source="old_stream.slug")
    new_stream = serializers.CharField(source="new_stream.slug")
    tap = serializers.IntegerField(source="tap.id")


class DeviceReplaceResultSerializer(serializers.Serializer):
    device = serializers.CharField(source="device.slug")
    new_device = serializers.CharField(source="new_device.slug")
    timestamp = serializers.DateTimeField()
    streams = ReplacedStreamSerializer(many=True)
