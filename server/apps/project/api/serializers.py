"""Shapes of projects on the API."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from server.apps.org.models import Org
from server.apps.project.models import RETENTION_MAX_DAYS, Project, RetentionRun


@extend_schema_field(OpenApiTypes.STR)
class VisibleOrgField(serializers.SlugRelatedField):
    """An organisation named by slug, among those the requesting user can see.

    An organisation outside the user's scope reads exactly like one that does not exist.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return Org.objects.restrict(getattr(request, "user", None), "view")


class ProjectSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(read_only=True)
    auto_create_streams = serializers.BooleanField(
        required=False,
        help_text="Whether ingesting a report creates the variable and stream of a reading the project has no "
        "stream for (the default); when false, such readings are skipped.",
    )
    data_retention_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=RETENTION_MAX_DAYS,
        help_text="How many days of stream data the project keeps; null keeps all of it. Older data is removed "
        "daily, for good. Only the organisation's owners may set it.",
    )
    event_retention_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=RETENTION_MAX_DAYS,
        help_text="How many days of stream events the project keeps; null keeps all of them. Owners only.",
    )
    org = VisibleOrgField()
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    device_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "gid",
            "slug",
            "name",
            "about",
            "org",
            "auto_create_streams",
            "data_retention_days",
            "event_retention_days",
            "created_on",
            "created_by",
            "device_count",
        ]
        read_only_fields = ["id", "gid", "created_on"]
        # Name uniqueness per organisation (case-insensitive) is the service's rule, with its own message.
        validators: list = []


class ProjectUpdateSerializer(ProjectSerializer):
    """A project stays in its organisation: ``org`` is read-only here."""

    # Read-only here, where ProjectSerializer's may be written.
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", read_only=True
    )


class RetentionRunCreateSerializer(serializers.Serializer):
    project = serializers.CharField(help_text="The project's UUID or its p-- slug.")


class RetentionRunSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug", read_only=True)
    project_id = serializers.UUIDField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    bytes_freed = serializers.IntegerField(
        read_only=True,
        help_text="The readings' and events' partitions on disk before the run minus after (tables, indexes): "
        "what went back to the file system. Rows deleted from a partition kept free no disk until it is dropped.",
    )

    class Meta:
        model = RetentionRun
        fields = [
            "id",
            "project",
            "project_id",
            "status",
            "status_label",
            "created_on",
            "created_by",
            "completed_on",
            "partitions_dropped",
            "rows_deleted",
            "events_deleted",
            "bytes_freed",
            "error",
        ]
        read_only_fields = fields
