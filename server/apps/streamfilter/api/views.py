"""Stream filters (``filter/``, by id) and their alerts (``alert/``, acknowledged and cleared by POST)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyViewSet
from server.apps.core.errors import ApplicationError
from server.apps.core.inputs import parse_id
from server.apps.core.slugs import SlugError
from server.apps.device.selectors import visible_device
from server.apps.stream.selectors import stream_list, stream_lookup, visible_variable
from server.apps.streamfilter import selectors, services
from server.apps.streamfilter.api import serializers
from server.apps.streamfilter.filtersets import StreamFilterAlertFilterSet, StreamFilterFilterSet
from server.apps.streamfilter.models import StreamFilter, StreamFilterAlert


def _output_stream(user, value: str | None):
    if not value:
        return None
    try:
        stream = stream_list(user=user).filter(**stream_lookup(value)).first()
    except SlugError as exc:
        raise ApplicationError(str(exc), {"states": [str(exc)]}) from exc
    if stream is None:
        raise ApplicationError(f"Unknown stream '{value}'.", {"states": [f"Unknown stream: {value}."]})
    return stream


def _machine(user, data: dict[str, Any]) -> dict[str, Any]:
    """The validated states and transitions with each action's output stream looked up in the user's scope."""
    if "states" not in data:
        return {}
    states = [
        {
            "label": state["label"],
            "actions": [
                {**act, "output_stream": _output_stream(user, act.get("output_stream"))}
                for act in state.get("actions", [])
            ],
        }
        for state in data["states"]
    ]
    return {"states": states, "transitions": data.get("transitions")}


@write_schemas(
    create=serializers.StreamFilterCreateSerializer,
    update=serializers.StreamFilterUpdateSerializer,
    response=serializers.StreamFilterSerializer,
)
class StreamFilterViewSet(ScopedModelViewSet):
    """Stream filters: state machines over a variable's streams in a project (or one device's stream). Reading
    needs ``can_read_stream_ids``, writing ``can_modify_stream_ids``."""

    queryset = StreamFilter.objects.all()
    serializer_class = serializers.StreamFilterSerializer
    filterset_class = StreamFilterFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.filter_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_id(value)}

    def _reread(self, stream_filter: StreamFilter) -> StreamFilter:
        return selectors.filter_list(user=self.request.user).get(pk=stream_filter.pk)

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = serializers.StreamFilterCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        variable = visible_variable(user=request.user, value=fields["variable"])
        device = visible_device(user=request.user, value=fields["device"]) if fields["device"] else None
        stream_filter = services.filter_create(
            user=request.user,
            project=variable.project,
            variable=variable,
            device=device,
            name=fields["name"],
            active=fields["active"],
            initial_state=fields["initial_state"],
            **_machine(request.user, fields),
        )
        body = serializers.StreamFilterSerializer(self._reread(stream_filter)).data
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        stream_filter = self.get_object()
        data = serializers.StreamFilterUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        stream_filter = services.filter_update(
            stream_filter=stream_filter,
            name=fields.get("name"),
            active=fields.get("active"),
            initial_state=fields.get("initial_state"),
            **_machine(request.user, fields),
        )
        return Response(serializers.StreamFilterSerializer(self._reread(stream_filter)).data)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: StreamFilter) -> None:
        services.filter_delete(stream_filter=instance)


class StreamFilterAlertViewSet(ScopedReadOnlyViewSet):
    """The alerts raised by filters, newest first, kept after they are acknowledged and cleared. Whoever reads
    stream ids in the organisation acknowledges and clears them."""

    queryset = StreamFilterAlert.objects.all()
    serializer_class = serializers.StreamFilterAlertSerializer
    filterset_class = StreamFilterAlertFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.alert_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_id(value)}

    @extend_schema(request=None, responses=serializers.StreamFilterAlertSerializer)
    @action(detail=True, methods=["post"], scope_action="change")
    def acknowledge(self, request: Request, *args, **kwargs) -> Response:
        alert = services.alert_acknowledge(alert=self.get_object(), user=request.user)
        return Response(self.get_serializer(selectors.alert_list(user=request.user).get(pk=alert.pk)).data)

    @extend_schema(request=None, responses=serializers.StreamFilterAlertSerializer)
    @action(detail=True, methods=["post"], scope_action="change")
    def clear(self, request: Request, *args, **kwargs) -> Response:
        alert = services.alert_clear(alert=self.get_object(), user=request.user)
        return Response(self.get_serializer(selectors.alert_list(user=request.user).get(pk=alert.pk)).data)
