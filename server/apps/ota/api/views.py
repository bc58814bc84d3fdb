"""Software updates: scripts (``ota/script/``, ``…/<z>/file/``), deployments (``ota/request/``), the updater's
attempts (``ota/action/``), what a device's updater should apply (``ota/device/<d>/``) and the versions devices
report (``ota/version/``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.parsers import FormParser, JSONParser, MultiPartParser
from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyViewSet, ScopedViewSetMixin
from server.apps.device.models import Device
from server.apps.device.selectors import device_list, device_lookup, visible_device
from server.apps.fleet.selectors import visible_fleet
from server.apps.ota import selectors, services
from server.apps.ota.api import serializers
from server.apps.ota.filtersets import (
    DeploymentActionFilterSet,
    DeploymentRequestFilterSet,
    DeviceScriptFilterSet,
    DeviceVersionFilterSet,
)
from server.apps.ota.models import DeploymentAction, DeploymentRequest, DeviceScript, DeviceVersionAttribute
from server.apps.stores.selectors import store_file_url

# How long a script's download link works.
SCRIPT_URL_SECONDS = 3600


@write_schemas(
    create={"multipart/form-data": serializers.DeviceScriptCreateSerializer},
    update=serializers.DeviceScriptUpdateSerializer,
    response=serializers.DeviceScriptSerializer,
)
class DeviceScriptViewSet(ScopedModelViewSet):
    """Update scripts (``z--``), their files in the ``apps`` store. Writes need ``can_manage_ota``; a create is a
    multipart upload with ``file``."""

    queryset = DeviceScript.objects.all()
    serializer_class = serializers.DeviceScriptSerializer
    filterset_class = DeviceScriptFilterSet
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return selectors.script_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.script_lookup(value)

    def create(self, request, *args, **kwargs):
        data = serializers.DeviceScriptCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        upload = fields.pop("file")
        script = services.script_create(
            user=request.user, content=upload.read(), file_name=upload.name or "script.trub", **fields
        )
        return Response(serializers.DeviceScriptSerializer(script).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        script = self.get_object()
        data = serializers.DeviceScriptUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        script = services.script_update(script=script, **data.validated_data)
        return Response(serializers.DeviceScriptSerializer(script).data)

    def perform_destroy(self, instance: DeviceScript) -> None:
        services.script_delete(script=instance)

    @extend_schema(responses=serializers.ScriptFileSerializer)
    @action(detail=True, methods=["get"], url_path="file", scope_action="view")
    def file(self, request, slug=None):
        """``{url}``: a link that downloads the script without credentials for an hour (S3: presigned)."""
        script = self.get_object()
        url = store_file_url(store=services.SCRIPT_STORE, key=script.file_key, expires=SCRIPT_URL_SECONDS)
        return Response({"url": request.build_absolute_uri(url)})


@write_schemas(
    create=serializers.DeploymentCreateSerializer,
    update=serializers.DeploymentUpdateSerializer,
    response=serializers.DeploymentRequestSerializer,
)
class DeploymentRequestViewSet(ScopedModelViewSet):
    """Deployments of a script to a fleet (or to the whole organisation), by id. Writes need ``can_manage_ota``."""

    queryset = DeploymentRequest.objects.all()
    serializer_class = serializers.DeploymentRequestSerializer
    filterset_class = DeploymentRequestFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.deployment_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        data = serializers.DeploymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        script = selectors.visible_script(user=request.user, value=fields.pop("script"))
        fleet_value = fields.pop("fleet", None)
        fleet = visible_fleet(user=request.user, value=fleet_value) if fleet_value else None
        deployment = services.deployment_create(user=request.user, script=script, fleet=fleet, **fields)
        return Response(serializers.DeploymentRequestSerializer(deployment).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        deployment = self.get_object()
        data = serializers.DeploymentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_update(deployment=deployment, **data.validated_data)
        return Response(serializers.DeploymentRequestSerializer(deployment).data)

    def perform_destroy(self, instance: DeploymentRequest) -> None:
        services.deployment_delete(deployment=instance)

    @extend_schema(request=None, responses=serializers.DeploymentRequestSerializer)
    @action(detail=True, methods=["post"], scope_action="change")
    def cancel(self, request, id=None):
        """Stop the deployment: devices no longer see it."""
        deployment = services.deployment_cancel(deployment=self.get_object())
        return Response(serializers.DeploymentRequestSerializer(deployment).data)


@write_schemas(create=serializers.DeploymentActionCreateSerializer, response=serializers.DeploymentActionSerializer)
class DeploymentActionViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Each device's progress on each deployment. The updater POSTs ``{deployment, device, attempt_successful,
    last_attempt_on}`` after each attempt; any member who sees the deployment and the device may."""

    queryset = DeploymentAction.objects.all()
    serializer_class = serializers.DeploymentActionSerializer
    filterset_class = DeploymentActionFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.action_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        data = serializers.DeploymentActionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        deployment = selectors.visible_deployment(user=request.user, value=fields.pop("deployment"))
        device = visible_device(user=request.user, value=fields.pop("device"))
        self.check_org_permission(deployment.org, DeploymentAction, "add")
        action = services.deployment_action_record(deployment=deployment, device=device, **fields)
        return Response(serializers.DeploymentActionSerializer(action).data, status=status.HTTP_201_CREATED)


class OtaDeviceViewSet(ScopedViewSetMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``ota/device/<d>/``: the deployments a device's updater should consider (released, open, for a fleet the
    device is in, not yet applied on it), and the versions the device reported."""

    queryset = Device.objects.all()
    serializer_class = serializers.OtaDeviceSerializer

    def get_queryset(self):
        return device_list(user=self.request.user).prefetch_related("version_attributes")

    def object_lookup(self, value: str) -> dict:
        return device_lookup(value)

    def retrieve(self, request, *args, **kwargs):
        device = self.get_object()
        device.deployments = list(selectors.device_deployments(device=device))
        return Response(serializers.OtaDeviceSerializer(device).data)


class DeviceVersionViewSet(ScopedReadOnlyViewSet):
    """The OS and app versions devices reported on their version streams (``?device=<d-->``)."""

    queryset = DeviceVersionAttribute.objects.all()
    serializer_class = serializers.DeviceVersionSerializer
    filterset_class = DeviceVersionFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.version_list(user=self.request.user)
