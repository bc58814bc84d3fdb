"""The audit log (``audit/``): owners read, filter and export (``audit/export/``, CSV) their organisations' entries."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request

from server.apps.audit import selectors
from server.apps.audit.api.serializers import AuditEntrySerializer
from server.apps.audit.filtersets import AuditEntryFilterSet
from server.apps.audit.models import AuditEntry
from server.apps.core.api.viewsets import ScopedReadOnlyViewSet


class AuditEntryViewSet(ScopedReadOnlyViewSet):
    """Changes to organisations, memberships, devices, keys, config attributes, operations, fleets and deployments:
    who, what, before and after, when. Only owners (``can_delete_org``) see their organisations' entries."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.audit_entry_list(user=self.request.user)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], scope_action="view", pagination_class=None)
    def export(self, request: Request) -> StreamingHttpResponse:
        """The filtered entries as CSV, streamed."""
        entries = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(
            selectors.audit_csv_lines(entries.iterator(chunk_size=selectors.CSV_CHUNK)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response
