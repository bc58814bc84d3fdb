"""Desired states (``desiredstate/``: versions for a device or a fleet, their rollout's progress, cancel) and the
inventories devices reported (``currentstate/``)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedReadOnlyViewSet, ScopedViewSetMixin
from server.apps.core.errors import ApplicationError
from server.apps.core.inputs import parse_id
from server.apps.desiredstate import selectors, services
from server.apps.desiredstate.api import serializers
from server.apps.desiredstate.filtersets import CurrentStateFilterSet, DesiredStateFilterSet
from server.apps.desiredstate.models import DesiredState, DeviceCurrentState
from server.apps.desiredstate.wire import current_state_from
from server.apps.device.models import Device
from server.apps.device.selectors import device_lookup, visible_device
from server.apps.deviceauth.tokens import DeviceScope
from server.apps.fleet.selectors import visible_fleet
from server.apps.operation.models import Transport
from server.apps.operation.wire import MessageError


@write_schemas(create=serializers.DesiredStateCreateSerializer, response=serializers.DesiredStateSerializer)
class DesiredStateViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of a device's or a fleet's desired state, by id. Creating one (``can_manage_ota``) sends it to each
    device as a ``desiredstate`` operation with a new activityId; a device's open one ends SUPERSEDED."""

    queryset = DesiredState.objects.all()
    serializer_class = serializers.DesiredStateSerializer
    filterset_class = DesiredStateFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.desired_state_list(user=self.request.user).select_related(
            "org", "device", "fleet", "created_by"
        )

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_id(value)}

    def create(self, request, *args, **kwargs):
        data = serializers.DesiredStateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        target = {}
        if "device" in fields:
            target["device"] = visible_device(user=request.user, value=fields["device"])
        else:
            target["fleet"] = visible_fleet(user=request.user, value=fields["fleet"])
        document = {"domains": fields["domains"]}
        if fields.get("baselines"):
            document["baselines"] = fields["baselines"]
        desired = services.desired_state_create(
            user=request.user, document=document, transport=fields.get("transport"), **target
        )
        return Response(serializers.DesiredStateSerializer(desired).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.RolloutSerializer)
    @action(detail=True, methods=["get"], scope_action="view", filterset_class=None)
    def rollout(self, request, id=None):
        """Each device's state and latest feedback, and the count per state."""
        return Response(selectors.desired_state_campaign(desired_state=self.get_object()))

    @extend_schema(request=None, responses=serializers.RolloutSerializer)
    @action(detail=True, methods=["post"], scope_action="change", filterset_class=None)
    def cancel(self, request, id=None):
        """Cancel the rollout's open operations (409 once canceled)."""
        desired = self.get_object()
        services.desired_state_cancel(user=request.user, desired_state=desired)
        return Response(selectors.desired_state_campaign(desired_state=desired))


class CurrentStateViewSet(ScopedReadOnlyViewSet):
    """The inventory each device last reported on ``…/update/currentstate`` (by device slug), or with its token at
    ``currentstate/report/``. Ask a device for it again with an operation of kind ``currentstate``."""

    queryset = DeviceCurrentState.objects.all()
    serializer_class = serializers.CurrentStateSerializer
    filterset_class = CurrentStateFilterSet
    lookup_field = "slug"
    # report/ is the device's own.
    accepts_device_tokens = True

    def get_queryset(self):
        return selectors.current_state_list(user=self.request.user).select_related("device")

    def object_lookup(self, value: str) -> dict:
        return {f"device__{key}": item for key, item in device_lookup(value).items()}

    @extend_schema(
        request=serializers.CurrentStateReportSerializer,
        responses={200: serializers.CurrentStateSerializer},
        description=(
            "The calling device's current state in Kanto's envelope (device token only): stored as its inventory, "
            "and the answer to its open inventory refresh."
        ),
    )
    @action(detail=False, methods=["post"], url_path="report", scope_action="view", filterset_class=None)
    def report(self, request):
        if not isinstance(request.auth, DeviceScope):
            raise PermissionDenied("Only a device's own token (Authorization: a-jwt …) reports its current state.")
        try:
            state = current_state_from(request.data)
        except MessageError as exc:
            raise ApplicationError(str(exc)) from exc
        device = Device.objects.get(pk=request.auth.device_id)
        services.current_states_record(
            reports=[services.ReportedState(device.pk, device.org_id, state, timezone.now())], transport=Transport.HTTP
        )
        return Response(serializers.CurrentStateSerializer(DeviceCurrentState.objects.get(device=device)).data)
