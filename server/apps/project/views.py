"""The project page: its devices (last report, status), variables and streams; creating, editing and deleting
projects, and claiming devices into them."""

from __future__ import annotations

from django.urls import reverse

from server.apps.core.forms import ButtonForm
from server.apps.core.lookups import project_lookup
from server.apps.core.views import ScopedFormAction, ScopedPageView, paginate
from server.apps.datablock.models import DataBlock
from server.apps.datablock.selectors import datablock_list
from server.apps.device.models import Device
from server.apps.device.selectors import device_list_for_project
from server.apps.device.services import device_claim
from server.apps.device.views import device_status, device_url
from server.apps.health.selectors import project_health_counts
from server.apps.org.views import OrgFormAction, org_url
from server.apps.project.forms import DeviceClaimForm, ProjectForm, ProjectRetentionForm, ProjectSettingsForm
from server.apps.project.models import Project
from server.apps.project.selectors import retention_run_list
from server.apps.project.services import project_create, project_delete, project_update, retention_run_create
from server.apps.stream.selectors import stream_list, variable_list


def project_url(project: Project, anchor: str = "") -> str:
    url = reverse("project:detail", kwargs={"org_slug": project.org.slug, "project_id": project.slug})
    return url + (f"#{anchor}" if anchor else "")


class ProjectCreateView(OrgFormAction):
    """The organisation page's "new project" form."""

    form_class = ProjectForm
    form_name = "project_form"
    scope_model = Project
    scope_action = "add"

    def form_valid(self, form):
        project = project_create(org=self.object, created_by=self.request.user, **form.cleaned_data)
        return self.done(f"Project “{project.name}” created. Claim its first device here.", project_url(project))


class ProjectDetailView(ScopedPageView):
    """``/org/<org>/project/<uuid or p-- slug>/``: the devices with their last report and status, the variables
    and the streams, each table paged; the forms show for roles that may use them."""

    model = Project
    lookup_url_kwarg = "project_id"
    context_object_name = "project"
    template_name = "project/detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("org", "created_by")

    def object_lookup(self, value: str) -> dict:
        return {**project_lookup(value), "org__slug": self.kwargs["org_slug"]}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        project, user, request = self.object, self.request.user, self.request
        devices = paginate(request, device_list_for_project(user=user, project=project), param="devices")
        for device in devices:
            device.status = device_status(device)
        variables = variable_list(user=user).filter(project=project)
        streams = stream_list(user=user).filter(project=project, block__isnull=True).order_by("device_id", "var_lid")
        context.update(
            devices=devices,
            variables=paginate(request, variables.order_by("lid"), param="variables"),
            streams=paginate(request, streams, param="streams"),
            health_counts=project_health_counts(project=project),
        )
        if self.can(DataBlock, "view"):
            blocks = datablock_list(user=user).filter(device__project=project).order_by("-created_on", "-id")
            context["blocks"] = paginate(request, blocks, param="blocks", per_page=10)
        if self.can(Project, "change"):
            initial = {"name": project.name, "about": project.about, "auto_create_streams": project.auto_create_streams}
            context.setdefault("project_form", ProjectSettingsForm(initial=initial))
        if self.can(Project, "set_retention"):
            retention = {
                "data_retention_days": project.data_retention_days,
                "event_retention_days": project.event_retention_days,
            }
            context.setdefault("retention_form", ProjectRetentionForm(initial=retention))
            context["retention_run"] = retention_run_list(user=user).filter(project=project).first()
        if self.can(Device, "claim"):
            context.setdefault("claim_form", DeviceClaimForm())
        return context


class ProjectFormAction(ScopedFormAction, ProjectDetailView):
    """A form of the project page; on errors the page comes back with the form and its messages."""


class ProjectUpdateView(ProjectFormAction):
    form_class = ProjectSettingsForm
    form_name = "project_form"
    scope_action = "change"

    def form_valid(self, form):
        project = project_update(project=self.object, **form.cleaned_data)
        return self.done("Project saved.", project_url(project))


class ProjectRetentionView(ProjectFormAction):
    form_class = ProjectRetentionForm
    form_name = "retention_form"
    scope_action = "set_retention"

    def form_valid(self, form):
        project = project_update(project=self.object, **form.cleaned_data)
        return self.done("Retention saved.", project_url(project))


class ProjectRetentionRunView(ProjectFormAction):
    """The Retention panel's "Run now": the worker applies the project's retention at once (docs/retention.md)."""

    form_class = ButtonForm
    form_name = "retention_run_form"
    scope_action = "set_retention"

    def form_valid(self, form):
        retention_run_create(user=self.request.user, project=self.object)
        return self.done("Retention is running; reload the page to see what it removed.", project_url(self.object))


class ProjectDeleteView(ProjectFormAction):
    form_class = ButtonForm
    form_name = "delete_form"
    scope_action = "delete"

    def form_valid(self, form):
        project_delete(project=self.object)
        return self.done(f"Project “{self.object.name}” deleted.", org_url(self.object.org))


class DeviceClaimView(ProjectFormAction):
    """Claims a device into the project. A device that does not exist or is taken gets the same error."""

    form_class = DeviceClaimForm
    form_name = "claim_form"
    scope_model = Device
    scope_action = "claim"

    def form_valid(self, form):
        device = device_claim(
            user=self.request.user,
            device=form.cleaned_data["device"],
            project=self.object,
            claim_key=form.cleaned_data["claim_key"],
        )
        return self.done(f"Device {device.slug} claimed into {self.object.name}.", device_url(device))
