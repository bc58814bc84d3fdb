"""Forwarding pages: an organisation's destinations with their delivery counts, and a destination's page: counts
by status, lag (age of the oldest undelivered message), the last error, the outbox, and replaying dead letters."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from server.apps.core.inputs import parse_id
from server.apps.core.views import ScopedFormAction, ScopedPageMixinBase, ScopedPageView, paginate
from server.apps.forwarding.filtersets import DeliveryFilterSet
from server.apps.forwarding.forms import DestinationForm, ReplayForm
from server.apps.forwarding.models import Destination
from server.apps.forwarding.selectors import deliveries_of, destination_list, destination_status
from server.apps.forwarding.services import deliveries_replay, destination_create
from server.apps.org.models import Org

DELIVERIES_PER_PAGE = 50


def destination_url(destination: Destination) -> str:
    return reverse("forwarding:detail", kwargs={"org_slug": destination.org.slug, "destination_id": destination.pk})


class DestinationListView(ScopedPageView):
    """``/org/<org>/destinations/``: the destinations, and a new one."""

    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "forwarding/list.html"

    def get_org(self):
        return self.object

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["destinations"] = destination_list(user=self.request.user).filter(org=self.object).order_by("name")
        if self.can(Destination, "add"):
            context.setdefault("destination_form", DestinationForm())
        return context


class DestinationCreateView(ScopedFormAction, DestinationListView):
    form_class = DestinationForm
    form_name = "destination_form"
    scope_model = Destination
    scope_action = "add"

    def form_valid(self, form):
        destination = destination_create(user=self.request.user, org=self.object, **form.destination_fields())
        return self.done(f"Destination {destination.name} created.", destination_url(destination))


class DestinationPageMixin(ScopedPageMixinBase):
    model = Destination
    lookup_url_kwarg = "destination_id"
    context_object_name = "destination"

    def get_queryset(self):
        return super().get_queryset().select_related("org")

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"id": parse_id(value), "org__slug": self.kwargs["org_slug"]}


class DestinationDetailView(DestinationPageMixin, ScopedPageView):
    """``/org/<org>/destination/<id>/``: status, the outbox (``?status=``), 50 rows to a page, and the replay."""

    template_name = "forwarding/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        destination = self.object
        context["status"] = destination_status(destination=destination)
        rows = DeliveryFilterSet(self.request.GET, queryset=deliveries_of(destination=destination))
        context["status_filter"] = self.request.GET.get("status", "") if rows.is_valid() else ""
        context["deliveries"] = paginate(
            self.request,
            rows.qs if rows.is_valid() else deliveries_of(destination=destination),
            per_page=DELIVERIES_PER_PAGE,
        )
        if self.can(Destination, "change"):
            context.setdefault("replay_form", ReplayForm())
        return context


class DestinationReplayView(ScopedFormAction, DestinationDetailView):
    """Puts every dead letter of the destination back in its outbox."""

    form_class = ReplayForm
    form_name = "replay_form"

    def form_valid(self, form):
        replayed = deliveries_replay(user=self.request.user, destination=self.object)
        return self.done(f"{replayed} dead letters put back in the outbox.", destination_url(self.object))
