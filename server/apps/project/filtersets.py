"""Filters for projects (API and dashboard)."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import project_filter
from server.apps.project.models import Project, RetentionRun


class ProjectFilterSet(django_filters.FilterSet):
    # The README of the IOTile clients uses ?org__slug=; ?org= is the short form the rest of the API uses.
    org = django_filters.CharFilter(field_name="org__slug")
    org__slug = django_filters.CharFilter(field_name="org__slug")
    name = django_filters.CharFilter(field_name="name", lookup_expr="iexact")

    class Meta:
        model = Project
        fields = ["org", "org__slug", "name"]


class RetentionRunFilterSet(django_filters.FilterSet):
    project = project_filter()
    status = django_filters.ChoiceFilter(field_name="status", choices=RetentionRun._meta.get_field("status").choices)

    class Meta:
        model = RetentionRun
        fields: list[str] = []
