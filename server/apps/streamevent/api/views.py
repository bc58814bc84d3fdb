"""Event endpoints: ``event/?filter=``, ``event/<id>/``, ``event/<id>/data/`` and ``event/upload/``."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.pagination import LargePagination
from server.apps.core.api.parsers import MultiPartParser
from server.apps.core.api.viewsets import ScopedReadOnlyViewSet
from server.apps.streamevent import selectors, services
from server.apps.streamevent.api.serializers import EventSerializer, EventUploadSerializer
from server.apps.streamevent.filtersets import EventFilterSet
from server.apps.streamevent.models import StreamEventData

FILTER_PARAMETER = OpenApiParameter(
    "filter",
    OpenApiTypes.STR,
    required=True,
    description="A stream (s--), device (d--: its streams) or variable (v--: its streams across devices) slug.",
)
MASK_PARAMETER = OpenApiParameter("mask", OpenApiTypes.BOOL, required=False, description="Accepted; no masks yet.")


@extend_schema_view(list=extend_schema(parameters=[FILTER_PARAMETER, MASK_PARAMETER]))
class EventViewSet(ScopedReadOnlyViewSet):
    """Events: readings with a structured summary (``extra_data``) and an optional payload (``data/``). Reading
    needs ``can_read_stream_data``; uploading ``can_create_stream_data``."""

    queryset = StreamEventData.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    pagination_class = LargePagination
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if self.action == "list":
            return selectors.events_for_filter(user=self.request.user, value=self.request.query_params.get("filter"))
        return selectors.event_list(user=self.request.user)

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.ANY, (200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def data(self, request, id=None):
        """The event's payload: JSON for .json payloads, else the file itself. 404 when it has none."""
        payload, kind = selectors.event_payload(event=self.get_object())
        if kind == "json":
            return Response(payload)
        return HttpResponse(payload, content_type=kind)

    @extend_schema(
        request={"multipart/form-data": EventUploadSerializer},
        responses={201: OpenApiResponse(EventSerializer, description="The event, its payload stored.")},
    )
    @action(
        detail=False,
        methods=["post"],
        parser_classes=[MultiPartParser],
        scope_action="add",
        pagination_class=None,
        filterset_class=None,
    )
    def upload(self, request):
        """Upload an event with its payload: multipart ``file`` plus ``stream``, ``timestamp`` and
        ``encoded_extra_data`` (a JSON object as text)."""
        upload = EventUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        fields = upload.validated_data
        file = fields["file"]
        event = services.event_upload(
            user=request.user,
            stream=fields["stream"],
            timestamp=fields["timestamp"],
            extra_data=fields.get("encoded_extra_data") or {},
            file_name=file.name,
            content=file.read(),
            device_timestamp=fields.get("device_timestamp"),
            streamer_local_id=fields.get("streamer_local_id") or 0,
        )
        # Read back with the stream's slugs (an operator may write events without reading them).
        event = selectors.with_stream_slugs(StreamEventData.objects.filter(pk=event.pk)).get()
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)
