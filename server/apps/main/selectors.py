"""Reads behind the dashboard's own pages, each already scoped to the user."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from server.apps.authentication.models import Account
from server.apps.device.models import Device
from server.apps.org.models import Org, OrgMembership
from server.apps.project.models import Project


def _count_per_org(queryset: QuerySet) -> Coalesce:
    counts = queryset.filter(org_id=OuterRef("pk")).order_by().values("org_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def org_list_for_home(user: Account) -> QuerySet[Org]:
    """The user's organisations with their project, device and member counts and the user's role, in one query."""
    role = OrgMembership.objects.filter(org_id=OuterRef("pk"), user_id=user.pk, is_active=True).values("role")[:1]
    return Org.objects.restrict(user, "view").annotate(
        project_count=_count_per_org(Project.objects.all()),
        device_count=_count_per_org(Device.objects.all()),
        member_count=_count_per_org(OrgMembership.objects.filter(is_active=True)),
        user_role=Subquery(role),
    )
