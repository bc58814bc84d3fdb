"""The dashboard's home page: what the platform is for visitors, the user's organisations for members."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from server.apps.core.errors import ApplicationError
from server.apps.main import selectors
from server.apps.org.forms import OrgForm
from server.apps.org.roles import ROLE_CHOICES
from server.apps.org.services import org_create

ROLE_NAMES = dict(ROLE_CHOICES)


def home(request):
    """Visitors see what the platform is; signed-in users see their organisations and can create one."""
    if not request.user.is_authenticated:
        return render(request, "main/landing.html")
    form = OrgForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = org_create(created_by=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Organisation “{org.name}” created. You are its owner.")
            return redirect("org:detail", org_slug=org.slug)
    orgs = list(selectors.org_list_for_home(request.user))
    for org in orgs:
        org.user_role_name = ROLE_NAMES.get(org.user_role, "Staff" if request.user.is_staff else "")
    return render(request, "main/home.html", {"orgs": orgs, "form": form})
