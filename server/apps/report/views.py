"""Report pages: an organisation's report templates and generated reports (making a template, generating it,
exporting a project's data), and a generated report's page, whose progress bar polls ``progress.json`` while the
worker writes it and then offers the download (a signed, expiring link from the ``reports`` store)."""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.urls import reverse
from django.views import View

from server.apps.core.forms import ButtonForm
from server.apps.core.inputs import parse_id, parse_uuid
from server.apps.core.lookups import project_lookup
from server.apps.core.views import ScopedFormAction, ScopedPageMixin, ScopedPageMixinBase, ScopedPageView, paginate
from server.apps.device.selectors import visible_project
from server.apps.org.models import Org
from server.apps.project.models import Project
from server.apps.report.api.views import REPORT_URL_SECONDS, export_response
from server.apps.report.forms import ReportTemplateForm
from server.apps.report.models import REPORT_STORE, GeneratedUserReport, ReportStatus, UserReport
from server.apps.report.selectors import generated_report_list, report_template_list
from server.apps.report.services import generated_report_create, report_template_create
from server.apps.stores.selectors import store_file_url
from server.apps.stream.models import StreamId

PER_PAGE = 25


def generated_url(generated: GeneratedUserReport, name: str = "generated") -> str:
    return reverse(f"report:{name}", kwargs={"org_slug": generated.org.slug, "generated_id": generated.pk})


def generated_progress(generated: GeneratedUserReport) -> dict:
    return {
        "status": generated.get_status_display(),
        "progress": generated.progress,
        "done": generated.done,
    }


class OrgReportsView(ScopedPageView):
    """``/org/<org>/reports/``: the report templates (each with a Generate button), the generated reports, newest
    first, with their status, and a bulk CSV export per project; a form for a new template."""

    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "report/list.html"

    def get_org(self):
        return self.object

    def _projects(self):
        return Project.objects.restrict(self.request.user, "view").filter(org=self.object).order_by("name")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        visible = self.can(UserReport, "view")
        templates = report_template_list(user=user).filter(org=self.object).order_by("label", "id")
        generated = generated_report_list(user=user).filter(org=self.object).order_by("-created_on")
        context.update(
            templates=paginate(self.request, templates, per_page=PER_PAGE, param="templates") if visible else None,
            generated=paginate(self.request, generated, per_page=PER_PAGE, param="generated") if visible else None,
            projects=list(self._projects()),
        )
        if self.can(UserReport, "add"):
            context.setdefault("report_form", ReportTemplateForm(projects=context["projects"]))
            context["generate_form"] = ButtonForm()
        return context


class ReportCreateView(ScopedFormAction, OrgReportsView):
    form_class = ReportTemplateForm
    form_name = "report_form"
    scope_model = UserReport
    scope_action = "add"

    def get_form(self):
        return ReportTemplateForm(self.request.POST, projects=self._projects())

    def form_valid(self, form):
        project = visible_project(user=self.request.user, value=form.cleaned_data["project"])
        report = report_template_create(user=self.request.user, project=project, **form.service_fields())
        return self.done(f"Report “{report.label}” saved.", reverse("report:list", args=[self.object.slug]))


class ReportGenerateView(ScopedFormAction, OrgReportsView):
    """Schedules a run of the template named in the URL; the browser goes to the run's page."""

    form_class = ButtonForm
    form_name = "generate_form"
    scope_model = UserReport
    scope_action = "add"

    def form_valid(self, form):
        report = (
            report_template_list(user=self.request.user)
            .filter(org=self.object, id=parse_id(self.kwargs["report_id"]))
            .first()
        )
        if report is None:
            raise Http404
        generated = generated_report_create(user=self.request.user, report=report)
        return self.done(f"Generating “{report.label}”.", generated_url(generated))


class GeneratedPageMixin(ScopedPageMixinBase):
    """The generated report named in the URL (its UUID) in the URL's organisation, among those the user sees."""

    model = GeneratedUserReport
    lookup_url_kwarg = "generated_id"
    context_object_name = "generated"

    def get_queryset(self):
        return super().get_queryset().select_related("org", "project", "report", "created_by")

    def object_lookup(self, value: str) -> dict:
        return {"id": parse_uuid(value), "org__slug": self.kwargs["org_slug"]}


class GeneratedReportView(GeneratedPageMixin, ScopedPageView):
    """``/org/<org>/reports/generated/<uuid>/``: the run's progress (polled), then its download link."""

    template_name = "report/generated.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        generated = self.object
        context.update(progress=generated_progress(generated), progress_url=generated_url(generated, "progress"))
        if generated.status == ReportStatus.GENERATED:
            url = store_file_url(store=REPORT_STORE, key=generated.file_key, expires=REPORT_URL_SECONDS)
            context["download_url"] = self.request.build_absolute_uri(url)
        return context


class GeneratedProgressView(GeneratedPageMixin, ScopedPageMixin, View):
    """``progress.json``: the run's status and progress, which its page polls while the worker writes it."""

    def get(self, request, *args, **kwargs):
        return JsonResponse(generated_progress(self.get_object()))


class ProjectExportView(ScopedPageMixin, View):
    """``/org/<org>/project/<id>/export.csv``: every reading of the project, streamed (``report/export/``); a role
    without ``can_read_stream_data`` gets a 403."""

    model = Project
    lookup_url_kwarg = "project_id"

    def get_queryset(self):
        return super().get_queryset().select_related("org")

    def object_lookup(self, value: str) -> dict:
        return {**project_lookup(value), "org__slug": self.kwargs["org_slug"]}

    def get(self, request, *args, **kwargs):
        project = self.get_object()
        self.require_org_permission(project.org, StreamId, "read_data")
        return export_response(user=request.user, project=project)
