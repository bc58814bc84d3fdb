"""Report templates and generated reports on the wire (iotile.cloud's ``report/`` and ``report/generated/``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from server.apps.core.api.fields import JSONField
from server.apps.core.inputs import InputError, utc_datetime
from server.apps.report.models import GeneratedUserReport, ReportAggregation, ReportFormat, UserReport

if TYPE_CHECKING:
    from server.apps.org.models import Org

SETTINGS = ["sources", "start", "end", "aggregation", "format"]


class UTCDateTimeField(serializers.DateTimeField):
    """Any ISO 8601 time, stored in UTC (PostgreSQL refuses some offsets Python accepts: core/inputs.py)."""

    def to_internal_value(self, value: Any):
        try:
            return utc_datetime(super().to_internal_value(value))
        except InputError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class UserReportSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    project = serializers.CharField(source="project.slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = UserReport
        fields = ["id", "label", "org", "project", *SETTINGS, "created_on", "created_by"]
        read_only_fields = fields


class UserReportWriteSerializer(serializers.Serializer):
    """A template's fields; ``project`` (a ``p--`` slug or id) only when creating."""

    label = serializers.CharField(max_length=100)  # type: ignore[assignment]
    project = serializers.CharField(max_length=64)
    sources = JSONField(required=False, help_text="Stream slugs (s--) of the project; empty: all its streams.")
    start = UTCDateTimeField(required=False, allow_null=True)
    end = UTCDateTimeField(required=False, allow_null=True)
    aggregation = serializers.ChoiceField(choices=ReportAggregation.choices, required=False)
    format = serializers.ChoiceField(choices=ReportFormat.choices, required=False)


class UserReportUpdateSerializer(UserReportWriteSerializer):
    project = None  # type: ignore[assignment]


class GeneratedUserReportSerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    project = serializers.CharField(source="project.slug", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = GeneratedUserReport
        fields = [
            "id",
            "label",
            "report",
            "org",
            "project",
            *SETTINGS,
            "status",
            "status_label",
            "progress",
            "error",
            "row_count",
            "file_name",
            "file_size",
            "created_on",
            "created_by",
            "completed_on",
        ]
        read_only_fields = fields


class ReportFileSerializer(serializers.Serializer):
    url = serializers.URLField(read_only=True)


class ProjectExportQuerySerializer(serializers.Serializer):
    project = serializers.CharField(help_text="The project (p-- slug or id) whose data to export.")
