"""A desired-state rollout's campaign page: the count of devices per state, a progress bar and each device's state
and latest feedback, refreshed from ``status.json`` while it runs; cancelling it cancels its open operations."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views import View

from server.apps.core.forms import ButtonForm
from server.apps.core.inputs import parse_id
from server.apps.core.views import ScopedFormAction, ScopedPageMixin, ScopedPageMixinBase, ScopedPageView
from server.apps.desiredstate.models import DesiredState
from server.apps.desiredstate.selectors import desired_state_campaign
from server.apps.desiredstate.services import desired_state_cancel
from server.apps.desiredstate.tabs import DESIRED_STATE_TAB
from server.apps.device.views import DeviceTabFormAction
from server.apps.operation.kinds import CURRENT_STATE_NAME
from server.apps.operation.models import DeviceOperation
from server.apps.operation.services.operations import operation_create, operation_request_clean


def rollout_url(desired_state: DesiredState, name: str = "campaign") -> str:
    return reverse(
        f"desiredstate:{name}", kwargs={"org_slug": desired_state.org.slug, "desired_state_id": desired_state.pk}
    )


class RolloutPageMixin(ScopedPageMixinBase):
    """The desired state named in the URL (its id) in the URL's organisation, among those the user sees; 404
    otherwise."""

    model = DesiredState
    lookup_url_kwarg = "desired_state_id"
    context_object_name = "desired_state"

    def get_queryset(self):
        return super().get_queryset().select_related("org", "device", "fleet", "created_by")

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"pk": parse_id(value), "org__slug": self.kwargs["org_slug"]}


class RolloutView(RolloutPageMixin, ScopedPageView):
    """``/org/<org>/desiredstate/<id>/``: the rollout. The page draws the state it was rendered with, then its
    script follows ``status.json`` every few seconds until no device's operation is open."""

    template_name = "desiredstate/campaign.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["campaign"] = campaign = desired_state_campaign(desired_state=self.object)
        context["document_text"] = json.dumps(self.object.document, indent=2)
        if self.can(DesiredState, "change") and not campaign["done"]:
            context.setdefault("cancel_form", ButtonForm())
        return context


class RolloutStatusView(RolloutPageMixin, ScopedPageMixin, View):
    """``status.json``: what the rollout page shows (``desired_state_campaign``)."""

    def get(self, request, *args, **kwargs):
        return JsonResponse(desired_state_campaign(desired_state=self.get_object()))


class RolloutCancelView(ScopedFormAction, RolloutView):
    """Cancels the rollout (``can_manage_ota``): its open operations end CANCELED."""

    form_class = ButtonForm
    form_name = "cancel_form"

    def form_valid(self, form):
        canceled = desired_state_cancel(user=self.request.user, desired_state=self.object)
        return self.done(f"Rollout canceled: {canceled} open operation(s) canceled.", rollout_url(self.object))


class InventoryRefreshView(DeviceTabFormAction):
    """Asks the device to send its current state again (an operation of kind ``currentstate``)."""

    tab = DESIRED_STATE_TAB
    form_class = ButtonForm
    form_name = "refresh_form"
    scope_model = DeviceOperation
    scope_action = "add"

    def form_valid(self, form: ButtonForm) -> HttpResponse:
        request = operation_request_clean(kind=CURRENT_STATE_NAME, payload={})
        operation_create(user=self.request.user, device=self.object, request=request)
        return self.done("Asked the device for its inventory.", self.tab_url())
