"""Note endpoints: ``note/?target=`` (with start, end, lastn), one note or a list per POST."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.pagination import LargePagination
from server.apps.core.api.parsers import FormParser, JSONParser, MultiPartParser
from server.apps.core.api.targets import TargetedViewSet
from server.apps.streamnote import selectors, services
from server.apps.streamnote.api import serializers
from server.apps.streamnote.filtersets import StreamNoteFilterSet
from server.apps.streamnote.models import StreamNote


@extend_schema_view(
    create=extend_schema(
        request=serializers.StreamNoteSerializer,
        responses={201: OpenApiResponse(serializers.StreamNoteSerializer, description="A list answers {count}.")},
        description="Post one note (multipart with an attachment, or JSON) or a JSON list of notes, all or none.",
    ),
    update=extend_schema(request=serializers.StreamNoteUpdateSerializer),
    partial_update=extend_schema(request=serializers.StreamNoteUpdateSerializer),
)
class StreamNoteViewSet(TargetedViewSet):
    """Notes on a stream, device, project or data block. Read and added with ``can_read_notes``; edited or deleted
    with ``can_modify_device`` (the platform's own notes are never edited)."""

    queryset = StreamNote.objects.all()
    serializer_class = serializers.StreamNoteSerializer
    filterset_class = StreamNoteFilterSet
    pagination_class = LargePagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    target_kinds = services.NOTE_TARGET_KINDS
    bulk_create = True
    rows_for_target = selectors.notes_for
    rows_visible = selectors.stream_note_list
    create_service = services.stream_notes_create

    def update(self, request, *args, **kwargs):
        note = self.get_object()
        data = serializers.StreamNoteUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        note = services.stream_note_update(note=note, text=fields.get("note"), timestamp=fields.get("timestamp"))
        return Response(self.get_serializer(note).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: StreamNote) -> None:
        services.stream_note_delete(note=instance)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def attachment(self, request, id=None):
        """The note's attached file."""
        note = self.get_object()
        filename = note.attachment.rsplit("/", 1)[-1] if note.attachment else None
        return FileResponse(selectors.note_attachment_open(note=note), as_attachment=True, filename=filename)
