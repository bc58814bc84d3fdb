"""Projects: ``project/`` looked up by UUID (what the analytics client sends) or by ``p--`` slug.

Creating, changing and deleting a project need ``can_manage_org_and_projects`` in its organisation (the model's
scope declaration): owners, administrators and developers manage their own projects without asking staff. Deleting
is refused while devices are still claimed into the project.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from server.apps.core.api.viewsets import ScopedModelViewSet, ScopedViewSetMixin
from server.apps.core.inputs import parse_uuid
from server.apps.core.lookups import project_lookup
from server.apps.device.selectors import visible_project
from server.apps.project.api.serializers import (
    ProjectSerializer,
    ProjectUpdateSerializer,
    RetentionRunCreateSerializer,
    RetentionRunSerializer,
)
from server.apps.project.filtersets import ProjectFilterSet, RetentionRunFilterSet
from server.apps.project.models import Project, RetentionRun
from server.apps.project.selectors import project_list_for_user, retention_run_list
from server.apps.project.services import project_create, project_delete, project_update, retention_run_create

_PROJECT_ID = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The project's UUID or its p-- slug (p--0000-0001)."
)


RETENTION_FIELDS = {"data_retention_days", "event_retention_days"}


def _retention(data: dict) -> dict:
    """The retention fields the request gives; the others stay as they are."""
    return {name: data[name] for name in RETENTION_FIELDS & data.keys()}


@extend_schema_view(
    retrieve=extend_schema(parameters=[_PROJECT_ID]),
    update=extend_schema(parameters=[_PROJECT_ID]),
    partial_update=extend_schema(parameters=[_PROJECT_ID]),
    destroy=extend_schema(parameters=[_PROJECT_ID]),
)
class ProjectViewSet(ScopedModelViewSet):
    """Projects of the user's organisations, by UUID or p-- slug; filters: ``org`` (or ``org__slug``), ``name``."""

    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet
    lookup_field = "id"

    def get_queryset(self):
        return project_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return ProjectUpdateSerializer
        return ProjectSerializer

    def object_lookup(self, value: str) -> dict:
        return project_lookup(value)

    def _check_retention_permission(self, org, data: dict) -> None:
        if RETENTION_FIELDS & data.keys():
            self.check_org_permission(org, Project, "set_retention")

    def perform_create(self, serializer):
        org = serializer.validated_data["org"]
        self.check_org_permission(org, Project, "add")
        self._check_retention_permission(org, serializer.validated_data)
        project = project_create(
            org=org,
            name=serializer.validated_data["name"],
            about=serializer.validated_data.get("about", ""),
            auto_create_streams=serializer.validated_data.get("auto_create_streams", True),
            created_by=self.request.user,
            **_retention(serializer.validated_data),
        )
        serializer.instance = self.get_queryset().get(pk=project.pk)

    def perform_update(self, serializer):
        self._check_retention_permission(serializer.instance.org, serializer.validated_data)
        project = project_update(
            project=serializer.instance,
            name=serializer.validated_data.get("name"),
            about=serializer.validated_data.get("about"),
            auto_create_streams=serializer.validated_data.get("auto_create_streams"),
            **_retention(serializer.validated_data),
        )
        serializer.instance = self.get_queryset().get(pk=project.pk)

    def perform_destroy(self, instance):
        project_delete(project=instance)


class RetentionRunViewSet(
    ScopedViewSetMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Retention runs asked for now, newest first (owners and staff; docs/retention.md). ``POST {"project": …}``
    has the worker apply the project's retention at once rather than at its daily run: a 202 with the run, whose
    ``status`` (``scheduled``, ``running``, ``done``, ``failed``) and, once done, what was removed and the disk freed
    are read back at ``retention/<id>/``."""

    queryset = RetentionRun.objects.all()
    serializer_class = RetentionRunSerializer
    filterset_class = RetentionRunFilterSet
    lookup_field = "id"

    def get_queryset(self):
        return retention_run_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_uuid(value)}

    @extend_schema(request=RetentionRunCreateSerializer, responses={202: RetentionRunSerializer})
    def create(self, request):
        data = RetentionRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = visible_project(user=request.user, value=data.validated_data["project"])
        run = retention_run_create(user=request.user, project=project)
        return Response(RetentionRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
