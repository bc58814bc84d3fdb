"""The dashboard's own pages: the home page and the organisation page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from server.apps.core.errors import ApplicationError
from server.apps.device.models import Device
from server.apps.main import selectors
from server.apps.main.forms import OrgCreateForm
from server.apps.org.models import Org
from server.apps.org.roles import ROLE_CHOICES
from server.apps.org.services import org_create

ROLE_NAMES = dict(ROLE_CHOICES)


def home(request):
    """Visitors see what the platform is; signed-in users see their organisations and can create one."""
    if not request.user.is_authenticated:
        return render(request, "main/landing.html")
    form = OrgCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = org_create(created_by=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Organisation “{org.name}” created. You are its owner.")
            return redirect(org_url(org))
    orgs = list(selectors.org_list_for_home(request.user))
    for org in orgs:
        org.user_role_name = ROLE_NAMES.get(org.user_role, "Staff" if request.user.is_staff else "")
    return render(request, "main/home.html", {"orgs": orgs, "form": form})


def org_url(org: Org) -> str:
    return reverse("main:org-detail", kwargs={"org_slug": org.slug})


@login_required
def org_detail(request, org_slug: str):
    """The organisation page: its projects and members. The dashboard's org pages grow from here."""
    org = get_object_or_404(Org.objects.restrict(request.user, "view"), slug=org_slug)
    projects = list(selectors.org_projects(request.user, org))
    memberships = list(selectors.org_members(request.user, org))
    for membership in memberships:
        membership.role_name = ROLE_NAMES.get(membership.role, membership.role)
    context = {
        "org": org,
        "projects": projects,
        "memberships": memberships,
        "device_count": Device.objects.restrict(request.user, "view").filter(org=org).count(),
    }
    return render(request, "main/org_detail.html", context)
