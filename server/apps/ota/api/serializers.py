"""Device scripts, deployments, deployment actions and device versions on the wire. The updater's endpoints follow
iotile_clients.md §5: dates as ``%Y-%m-%dT%H:%M:%SZ`` (no fractional seconds), scripts by ``z--`` slug."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from server.apps.core.api.fields import UTCDateTimeField
from server.apps.ota.criteria import parse_criterion
from server.apps.ota.models import DeploymentAction, DeploymentRequest, DeviceScript, DeviceVersionAttribute
from server.apps.project.api.serializers import VisibleOrgField

if TYPE_CHECKING:
    from server.apps.device.models import Device
    from server.apps.fleet.models import Fleet
    from server.apps.org.models import Org


class DeviceScriptSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.CharField(read_only=True)
    gid = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = DeviceScript
        fields = [
            "id",
            "slug",
            "gid",
            "name",
            "version",
            "major_version",
            "minor_version",
            "patch_version",
            "org",
            "file_name",
            "file_size",
            "file_sha256",
            "notes",
            "released",
            "released_on",
            "created_on",
            "created_by",
        ]
        read_only_fields = fields

    def get_gid(self, script: DeviceScript) -> str:
        return script.slug[3:]


class DeviceScriptCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    version = serializers.CharField(max_length=20, help_text="major.minor.patch, such as 1.2.0")
    org = VisibleOrgField()
    file = serializers.FileField(help_text="The update script (a .trub file for IOTile devices).")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    released = serializers.BooleanField(required=False, default=False)


class DeviceScriptUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    released = serializers.BooleanField(required=False)


class ScriptFileSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Downloads the file without credentials until it expires.")


class CriteriaField(serializers.ListField):
    child = serializers.CharField(max_length=100)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        return [str(parse_criterion(value)) for value in values]


class DeploymentRequestSerializer(serializers.ModelSerializer):
    script: serializers.SlugRelatedField[DeviceScript] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    fleet: serializers.SlugRelatedField[Fleet] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    released_on = UTCDateTimeField(whole_seconds=True, read_only=True)
    completed_on = UTCDateTimeField(whole_seconds=True, read_only=True)
    canceled_on = UTCDateTimeField(whole_seconds=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = DeploymentRequest
        fields = [
            "id",
            "script",
            "fleet",
            "org",
            "selection_criteria",
            "side_effect",
            "released_on",
            "completed_on",
            "canceled_on",
            "created_on",
            "created_by",
        ]
        read_only_fields = fields


class DeploymentCreateSerializer(serializers.Serializer):
    script = serializers.CharField(help_text="The script's z-- slug.")
    fleet = serializers.CharField(required=False, allow_null=True, help_text="The fleet's g-- slug; none: all.")
    selection_criteria = CriteriaField(required=False, default=list)
    side_effect = serializers.DictField(required=False, default=dict)
    released_on = UTCDateTimeField(
        whole_seconds=True, required=False, allow_null=True, help_text="None: not released yet."
    )


class DeploymentUpdateSerializer(serializers.Serializer):
    selection_criteria = CriteriaField(required=False)
    side_effect = serializers.DictField(required=False)
    released_on = UTCDateTimeField(whole_seconds=True, required=False)
    completed_on = UTCDateTimeField(whole_seconds=True, required=False)


class UpdaterDeploymentSerializer(DeploymentRequestSerializer):
    """A deployment as the updater reads it: its criteria in the spelling the updater knows."""

    selection_criteria = serializers.SerializerMethodField()

    class Meta(DeploymentRequestSerializer.Meta):
        fields = ["id", "script", "fleet", "org", "selection_criteria", "released_on", "completed_on"]
        read_only_fields = fields

    def get_selection_criteria(self, deployment: DeploymentRequest) -> list[str]:
        return [parse_criterion(text).for_updater() for text in deployment.selection_criteria]


class DeploymentActionSerializer(serializers.ModelSerializer):
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    last_attempt_on = UTCDateTimeField(whole_seconds=True, read_only=True)

    class Meta:
        model = DeploymentAction
        fields = [
            "id",
            "deployment",
            "device",
            "attempts",
            "last_attempt_on",
            "attempt_successful",
            "device_confirmation",
            "confirmed_on",
            "log",
            "created_on",
        ]
        read_only_fields = fields


class DeploymentActionCreateSerializer(serializers.Serializer):
    deployment = serializers.IntegerField(help_text="The deployment's id.")
    device = serializers.CharField(help_text="The device's d-- slug.")
    attempt_successful = serializers.BooleanField()
    last_attempt_on = UTCDateTimeField(whole_seconds=True, required=False, allow_null=True)
    log = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class DeviceVersionSerializer(serializers.ModelSerializer):
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.CharField(read_only=True)

    class Meta:
        model = DeviceVersionAttribute
        fields = [
            "id",
            "device",
            "type",
            "tag",
            "version",
            "major_version",
            "minor_version",
            "streamer_local_id",
            "updated_ts",
        ]
        read_only_fields = fields


class OtaDeviceSerializer(serializers.Serializer):
    """``ota/device/<d>/``: what the updater needs to pick a deployment."""

    slug = serializers.CharField()
    sg = serializers.CharField(source="sg.slug", allow_null=True, default=None)
    template = serializers.CharField(source="template.slug", allow_null=True, default=None)
    versions = DeviceVersionSerializer(many=True, source="version_attributes.all")
    deployments = UpdaterDeploymentSerializer(many=True)
