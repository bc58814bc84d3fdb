"""Software update pages: an organisation's scripts and deployments (uploading a script, deploying one), and a
deployment's campaign page: the count of devices per state, a progress bar and each device's state and latest
message, refreshed from ``status.json`` while the deployment runs; cancelling it."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from server.apps.core.forms import ButtonForm
from server.apps.core.views import ScopedFormAction, ScopedPageMixin, ScopedPageMixinBase, ScopedPageView, paginate
from server.apps.fleet.selectors import fleet_list, fleet_lookup
from server.apps.org.models import Org
from server.apps.ota.forms import DeploymentForm, ScriptUploadForm
from server.apps.ota.models import DeploymentRequest, DeviceScript
from server.apps.ota.selectors import deployment_campaign, deployment_list, script_list, visible_script
from server.apps.ota.services import deployment_cancel, deployment_create, script_create

PER_PAGE = 25


def campaign_url(deployment: DeploymentRequest, name: str = "campaign") -> str:
    return reverse(f"ota:{name}", kwargs={"org_slug": deployment.org.slug, "deployment_id": deployment.pk})


class OrgUpdatesView(ScopedPageView):
    """``/org/<org>/updates/``: the deployments, newest first (``?fleet=<g-->`` those sent to one fleet), and the
    scripts; uploading a script and deploying one for roles that manage OTA."""

    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "ota/list.html"

    def get_org(self):
        return self.object

    def _scripts(self):
        return script_list(user=self.request.user).filter(org=self.object)

    def _fleets(self):
        return fleet_list(user=self.request.user).filter(org=self.object).order_by("name", "id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deployments = deployment_list(user=self.request.user).filter(org=self.object).order_by("-created_on", "-id")
        fleet_value = self.request.GET.get("fleet")
        if fleet_value:
            try:
                deployments = deployments.filter(**{f"fleet__{k}": v for k, v in fleet_lookup(fleet_value).items()})
            except ValueError:
                deployments = deployments.none()
            context["fleet_filter"] = fleet_value
        context["deployments"] = paginate(self.request, deployments, per_page=PER_PAGE, param="deployments")
        context["scripts"] = paginate(
            self.request, self._scripts().order_by("-created_on", "-id"), per_page=PER_PAGE, param="scripts"
        )
        if self.can(DeviceScript, "add"):
            context.setdefault("script_form", ScriptUploadForm())
            context.setdefault("deployment_form", self.deployment_form())
        return context

    def deployment_form(self, data=None) -> DeploymentForm:
        return DeploymentForm(data, scripts=self._scripts().order_by("name", "-id"), fleets=self._fleets())


class ScriptUploadView(ScopedFormAction, OrgUpdatesView):
    form_class = ScriptUploadForm
    form_name = "script_form"
    scope_model = DeviceScript
    scope_action = "add"

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        script = script_create(
            user=self.request.user,
            org=self.object,
            name=form.cleaned_data["name"],
            version=form.cleaned_data["version"],
            notes=form.cleaned_data["notes"],
            content=upload.read(),
            file_name=upload.name or "script.trub",
            released=True,
        )
        url = reverse("ota:list", kwargs={"org_slug": self.object.slug})
        return self.done(f"Script {script.name} {script.version} uploaded as {script.slug}.", url)


class DeploymentCreateView(ScopedFormAction, OrgUpdatesView):
    form_class = DeploymentForm
    form_name = "deployment_form"
    scope_model = DeploymentRequest
    scope_action = "add"

    def get_form(self):
        return self.deployment_form(self.request.POST)

    def form_valid(self, form):
        user = self.request.user
        script = visible_script(user=user, value=form.cleaned_data["script"])
        fleet_value = form.cleaned_data["fleet"]
        fleet = self._fleets().filter(**fleet_lookup(fleet_value)).first() if fleet_value else None
        deployment = deployment_create(
            user=user,
            script=script,
            fleet=fleet,
            selection_criteria=form.cleaned_data["selection_criteria"],
            side_effect=form.side_effect(),
            released_on=timezone.now() if form.cleaned_data["release"] else None,
        )
        return self.done(
            f"Deployment {deployment.pk} of {script.name} {script.version} created.", campaign_url(deployment)
        )


class DeploymentPageMixin(ScopedPageMixinBase):
    """The deployment named in the URL (its id) in the URL's organisation, among those the user sees; 404
    otherwise."""

    model = DeploymentRequest
    lookup_url_kwarg = "deployment_id"
    context_object_name = "deployment"

    def get_queryset(self):
        return super().get_queryset().select_related("org", "script", "fleet", "created_by")

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"pk": int(value), "org__slug": self.kwargs["org_slug"]}


class CampaignView(DeploymentPageMixin, ScopedPageView):
    """``/org/<org>/deployment/<id>/``: the campaign. The page draws the state it was rendered with, then its
    script follows ``status.json`` every few seconds until the deployment is completed or canceled."""

    template_name = "ota/campaign.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["campaign"] = deployment_campaign(deployment=self.object)
        if (
            self.can(DeploymentRequest, "change")
            and self.object.canceled_on is None
            and self.object.completed_on is None
        ):
            context.setdefault("cancel_form", ButtonForm())
        return context


class CampaignStatusView(DeploymentPageMixin, ScopedPageMixin, View):
    """``status.json``: what the campaign page shows (``deployment_campaign``)."""

    def get(self, request, *args, **kwargs):
        return JsonResponse(deployment_campaign(deployment=self.get_object()))


class DeploymentCancelView(ScopedFormAction, CampaignView):
    """Cancels the deployment (``can_manage_ota``): devices no longer see it."""

    form_class = ButtonForm
    form_name = "cancel_form"

    def form_valid(self, form):
        deployment = deployment_cancel(deployment=self.object)
        return self.done(f"Deployment {deployment.pk} canceled.", campaign_url(deployment))
