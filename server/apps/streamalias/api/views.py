"""Stream aliases (``alias/``) and their taps (``tap/?target=<a-- slug>``)."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet
from server.apps.core.errors import ApplicationError
from server.apps.core.slugs import SlugError
from server.apps.stream.selectors import stream_list, stream_lookup
from server.apps.streamalias import selectors, services
from server.apps.streamalias.api import serializers
from server.apps.streamalias.filtersets import StreamAliasFilterSet, StreamAliasTapFilterSet
from server.apps.streamalias.models import StreamAlias, StreamAliasTap


@write_schemas(
    create=serializers.StreamAliasCreateSerializer,
    update=serializers.StreamAliasUpdateSerializer,
    response=serializers.StreamAliasSerializer,
)
class StreamAliasViewSet(ScopedModelViewSet):
    """Stream aliases (``a--``): virtual streams read through ``data/?filter=a--…``. Writes need
    ``can_manage_stream_aliases``."""

    queryset = StreamAlias.objects.all()
    serializer_class = serializers.StreamAliasSerializer
    filterset_class = StreamAliasFilterSet

    def get_queryset(self):
        return selectors.alias_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.alias_lookup(value)

    def create(self, request, *args, **kwargs):
        data = serializers.StreamAliasCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        alias = services.alias_create(user=request.user, **data.validated_data)
        return Response(serializers.StreamAliasSerializer(alias).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        alias = self.get_object()
        data = serializers.StreamAliasUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        alias = services.alias_update(alias=alias, **data.validated_data)
        return Response(serializers.StreamAliasSerializer(alias).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: StreamAlias) -> None:
        services.alias_delete(alias=instance)


def _visible_stream(user, value: str):
    """A stream named in a body: unknown or out of scope is the same 400."""
    try:
        stream = stream_list(user=user).filter(**stream_lookup(value)).first()
    except SlugError as exc:
        raise ApplicationError(str(exc), {"stream": [str(exc)]}) from exc
    if stream is None:
        raise ApplicationError(f"Unknown stream '{value}'.", {"stream": [f"Unknown stream: {value}."]})
    return stream


@write_schemas(
    create=serializers.StreamAliasTapCreateSerializer,
    update=serializers.StreamAliasTapUpdateSerializer,
    response=serializers.StreamAliasTapSerializer,
)
class StreamAliasTapViewSet(ScopedModelViewSet):
    """Taps of stream aliases, by id; ``?target=<a-- slug>`` lists one alias's taps, oldest first."""

    queryset = StreamAliasTap.objects.all()
    serializer_class = serializers.StreamAliasTapSerializer
    filterset_class = StreamAliasTapFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.tap_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        data = serializers.StreamAliasTapCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alias = selectors.visible_alias(user=request.user, value=data.validated_data["alias"])
        stream = _visible_stream(request.user, data.validated_data["stream"])
        tap = services.alias_tap_create(
            user=request.user, alias=alias, stream=stream, timestamp=data.validated_data["timestamp"]
        )
        return Response(serializers.StreamAliasTapSerializer(tap).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        tap = self.get_object()
        data = serializers.StreamAliasTapUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        stream_value = data.validated_data.get("stream")
        stream = _visible_stream(request.user, stream_value) if stream_value else None
        tap = services.alias_tap_update(tap=tap, stream=stream, timestamp=data.validated_data.get("timestamp"))
        return Response(serializers.StreamAliasTapSerializer(tap).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: StreamAliasTap) -> None:
        services.alias_tap_delete(tap=instance)
