"""Query-string filters on report templates and generated reports (the API and the dashboard)."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import project_filter
from server.apps.report.models import GeneratedUserReport, UserReport


class UserReportFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    project = project_filter()

    class Meta:
        model = UserReport
        fields: list[str] = []


class GeneratedUserReportFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    project = project_filter()
    report = django_filters.NumberFilter(field_name="report_id")
    status = django_filters.ChoiceFilter(
        field_name="status", choices=GeneratedUserReport._meta.get_field("status").choices
    )

    class Meta:
        model = GeneratedUserReport
        fields: list[str] = []
