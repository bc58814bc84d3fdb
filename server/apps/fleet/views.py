"""Fleet pages: an organisation's fleets (member counts, a new one), and a fleet's page: its members with their
flags, adding and removing devices. The software updates page (``ota``) lists what was deployed to a fleet."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseRedirect
from django.urls import reverse

from server.apps.core.views import ScopedFormAction, ScopedPageMixinBase, ScopedPageView, paginate
from server.apps.device.models import Device
from server.apps.device.selectors import visible_device
from server.apps.fleet.forms import FleetForm, FleetMemberForm, FleetMemberRemoveForm
from server.apps.fleet.models import Fleet
from server.apps.fleet.selectors import fleet_lookup, fleet_members, fleets_with_member_counts
from server.apps.fleet.services import fleet_create, fleet_device_deregister, fleet_device_register
from server.apps.org.models import Org

FLEETS_PER_PAGE = 25
MEMBERS_PER_PAGE = 50


def fleet_url(fleet: Fleet) -> str:
    return reverse("fleet:detail", kwargs={"org_slug": fleet.org.slug, "fleet_slug": fleet.slug})


class OrgFleetListView(ScopedPageView):
    """``/org/<org>/fleets/``: the fleets with their member counts (a page is two queries), and a new one."""

    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "fleet/list.html"

    def get_org(self):
        return self.object

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        fleets = fleets_with_member_counts(user=self.request.user).filter(org=self.object).order_by("name", "id")
        context["fleets"] = paginate(self.request, fleets, per_page=FLEETS_PER_PAGE)
        if self.can(Fleet, "add"):
            context.setdefault("fleet_form", FleetForm())
        return context


class FleetCreateView(ScopedFormAction, OrgFleetListView):
    form_class = FleetForm
    form_name = "fleet_form"
    scope_model = Fleet
    scope_action = "add"

    def form_valid(self, form):
        fleet = fleet_create(user=self.request.user, org=self.object, **form.cleaned_data)
        return self.done(f"Fleet {fleet.name} created. Add its devices.", fleet_url(fleet))


class FleetPageMixin(ScopedPageMixinBase):
    """The fleet named in the URL (``g--`` in any lenient form) in the URL's organisation, among those the user
    sees; 404 otherwise."""

    model = Fleet
    lookup_url_kwarg = "fleet_slug"
    context_object_name = "fleet"

    def get_queryset(self):
        return super().get_queryset().select_related("org")

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {**fleet_lookup(value), "org__slug": self.kwargs["org_slug"]}


class FleetDetailView(FleetPageMixin, ScopedPageView):
    """``/org/<org>/fleet/<g-->/``: the members, 50 to a page, with adding and removing devices."""

    template_name = "fleet/detail.html"

    def get(self, request, *args, **kwargs):
        if kwargs["fleet_slug"] != self.object.slug:
            return HttpResponseRedirect(fleet_url(self.object))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        fleet = self.object
        context["members"] = paginate(self.request, fleet_members(fleet=fleet), per_page=MEMBERS_PER_PAGE)
        if self.can(Fleet, "change"):
            candidates = (
                Device.objects.filter(org=fleet.org)
                .exclude(fleet_memberships__fleet=fleet)
                .only("id", "slug", "label")
                .order_by("id")
            )
            context.setdefault("member_form", FleetMemberForm(devices=candidates))
            context["remove_form"] = FleetMemberRemoveForm()
        return context


class FleetRegisterView(ScopedFormAction, FleetDetailView):
    """Adds a device of the organisation to the fleet (or sets its flags): ``can_manage_ota``."""

    form_class = FleetMemberForm
    form_name = "member_form"

    def get_form(self):
        devices = Device.objects.filter(org=self.object.org).only("id", "slug", "label").order_by("id")
        return FleetMemberForm(**self.get_form_kwargs(), devices=devices)

    def form_valid(self, form):
        device = visible_device(user=self.request.user, value=form.cleaned_data["device"])
        fleet_device_register(
            user=self.request.user,
            fleet=self.object,
            device=device,
            is_access_point=form.cleaned_data["is_access_point"],
            always_on=form.cleaned_data["always_on"],
        )
        return self.done(f"{device.slug} is in the fleet.", fleet_url(self.object))


class FleetDeregisterView(ScopedFormAction, FleetDetailView):
    form_class = FleetMemberRemoveForm
    form_name = "remove_form"

    def form_valid(self, form):
        device = visible_device(user=self.request.user, value=form.cleaned_data["device"])
        fleet_device_deregister(user=self.request.user, fleet=self.object, device=device)
        return self.done(f"{device.slug} left the fleet.", fleet_url(self.object))
