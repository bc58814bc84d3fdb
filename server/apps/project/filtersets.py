"""Filters for projects (API and dashboard)."""

from __future__ import annotations

import django_filters

from server.apps.project.models import Project


class ProjectFilterSet(django_filters.FilterSet):
    # The README of the IOTile clients uses ?org__slug=; ?org= is the short form the rest of the API uses.
    org = django_filters.CharFilter(field_name="org__slug")
    org__slug = django_filters.CharFilter(field_name="org__slug")
    name = django_filters.CharFilter(field_name="name", lookup_expr="iexact")

    class Meta:
        model = Project
        fields = ["org", "org__slug", "name"]
