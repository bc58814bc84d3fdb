"""Reports: templates (``report/``, ``…/<id>/generate/``), generated reports (``report/generated/``,
``…/<uuid>/file/``) and the project-wide bulk export (``report/export/?project=``, CSV, streamed)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedModelViewSet, ScopedViewSetMixin
from server.apps.core.errors import ApplicationError, ConflictError
from server.apps.core.inputs import parse_id, parse_uuid
from server.apps.device.selectors import visible_project
from server.apps.report import selectors, services
from server.apps.report.api import serializers
from server.apps.report.filtersets import GeneratedUserReportFilterSet, UserReportFilterSet
from server.apps.report.models import REPORT_STORE, GeneratedUserReport, ReportStatus, UserReport
from server.apps.stores.selectors import store_file_url

# How long a generated report's download link works.
REPORT_URL_SECONDS = 3600


def export_response(*, user, project) -> StreamingHttpResponse:
    """The project's readings as a streamed CSV download (the API's ``report/export/`` and the dashboard's)."""
    streams = selectors.project_export_streams(user=user, project=project)
    response = StreamingHttpResponse(selectors.project_export_csv(streams=streams), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-data.csv"'
    return response


@write_schemas(
    create=serializers.UserReportWriteSerializer,
    update=serializers.UserReportUpdateSerializer,
    response=serializers.UserReportSerializer,
)
class UserReportViewSet(ScopedModelViewSet):
    """Report templates: which of a project's streams (``sources``, empty for all), over which window
    (``start``, ``end``), aggregated how (``raw``, ``minute``, ``hour``, ``day``), in which format (``csv``,
    ``xlsx``, ``html``). Reading needs ``can_access_reports``; writing and generating ``can_create_reports``."""

    queryset = UserReport.objects.all()
    serializer_class = serializers.UserReportSerializer
    filterset_class = UserReportFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.report_template_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_id(value)}

    def create(self, request, *args, **kwargs):
        data = serializers.UserReportWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = visible_project(user=request.user, value=fields.pop("project"))
        report = services.report_template_create(user=request.user, project=project, **fields)
        return Response(serializers.UserReportSerializer(report).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        report = self.get_object()
        data = serializers.UserReportUpdateSerializer(data=request.data, partial=kwargs.get("partial", True))
        data.is_valid(raise_exception=True)
        report = services.report_template_update(user=request.user, report=report, **data.validated_data)
        return Response(serializers.UserReportSerializer(report).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: UserReport) -> None:
        services.report_template_delete(user=self.request.user, report=instance)

    @extend_schema(request=None, responses={201: serializers.GeneratedUserReportSerializer})
    @action(detail=True, methods=["post"], scope_action="view")
    def generate(self, request, id=None):
        """Schedule a run of the template; the worker writes it. Follow it at ``report/generated/<id>/``."""
        generated = services.generated_report_create(user=request.user, report=self.get_object())
        return Response(serializers.GeneratedUserReportSerializer(generated).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("project", str, required=True, description="A p-- slug or project id.")],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"], scope_action="view", pagination_class=None, filterset_class=None)
    def export(self, request: Request) -> StreamingHttpResponse:
        """Every reading of the project's streams as CSV (``stream,timestamp,value``), streamed as it is read.
        Needs ``can_read_stream_data``."""
        value = request.query_params.get("project")
        if not value:
            raise ApplicationError("?project= is required.", {"project": ["This field is required."]})
        return export_response(user=request.user, project=visible_project(user=request.user, value=value))


class GeneratedUserReportViewSet(
    ScopedViewSetMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Generated reports, newest first: status (``GS`` scheduled, ``G0`` in progress, ``G1`` generated, ``GE``
    error), progress in percent, and once generated a download link at ``…/file/``."""

    queryset = GeneratedUserReport.objects.all()
    serializer_class = serializers.GeneratedUserReportSerializer
    filterset_class = GeneratedUserReportFilterSet
    lookup_field = "id"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return selectors.generated_report_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_uuid(value)}

    def perform_destroy(self, instance: GeneratedUserReport) -> None:
        services.generated_report_delete(user=self.request.user, generated=instance)

    @extend_schema(responses=serializers.ReportFileSerializer)
    @action(detail=True, methods=["get"], url_path="file", scope_action="view")
    def file(self, request, id=None):
        """``{url}``: a link that downloads the report without credentials for an hour (S3: presigned). A report
        not generated yet is a 409."""
        generated = self.get_object()
        if generated.status != ReportStatus.GENERATED:
            raise ConflictError(f"The report is {generated.get_status_display().lower()}, not generated yet.")
        url = store_file_url(store=REPORT_STORE, key=generated.file_key, expires=REPORT_URL_SECONDS)
        return Response({"url": request.build_absolute_uri(url)})
