"""Filters for organisations, memberships and invitations (API and dashboard)."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import StrictBooleanFilter
from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import ROLE_CHOICES


class OrgFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Org
        fields = ["name"]


class OrgMembershipFilterSet(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=ROLE_CHOICES)
    is_active = StrictBooleanFilter()

    class Meta:
        model = OrgMembership
        fields = ["role", "is_active"]


class InvitationFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    accepted = StrictBooleanFilter()

    class Meta:
        model = Invitation
        fields = ["org", "email", "accepted"]
