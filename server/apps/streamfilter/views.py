"""Stream filter pages: a project's filters with their alerts (acknowledge, clear), a new filter, and a filter's
page where its machine is edited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse

from server.apps.core.forms import ButtonForm
from server.apps.core.lookups import project_lookup
from server.apps.core.views import ScopedFormAction, ScopedPageView, paginate
from server.apps.device.selectors import device_list, device_lookup
from server.apps.project.models import Project
from server.apps.streamfilter.forms import StreamFilterForm, machine_text, visible_streams
from server.apps.streamfilter.models import AlertStatus, StreamFilter, StreamFilterAlert
from server.apps.streamfilter.selectors import alert_list, filter_list
from server.apps.streamfilter.services import alert_acknowledge, alert_clear, filter_create, filter_update

ALERTS_PER_PAGE = 50


def filters_url(project: Project) -> str:
    return reverse("streamfilter:list", kwargs={"org_slug": project.org.slug, "project_id": project.id})


def filter_url(stream_filter: StreamFilter) -> str:
    return reverse(
        "streamfilter:detail",
        kwargs={
            "org_slug": stream_filter.org.slug,
            "project_id": stream_filter.project_id,
            "filter_id": stream_filter.id,
        },
    )


class ProjectFiltersView(ScopedPageView):
    """``/org/<org>/project/<p>/filters/``: the filters (one query and the page's definitions), the alerts, newest
    first, unresolved ones first, 50 to a page, each with its Acknowledge and Clear buttons; the new-filter form for
    roles that may write filters."""

    model = Project
    lookup_url_kwarg = "project_id"
    context_object_name = "project"
    template_name = "streamfilter/list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("org")

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {**project_lookup(value), "org__slug": self.kwargs["org_slug"]}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        project, user = self.object, self.request.user
        if self.can(StreamFilter, "view"):
            context["filters"] = list(
                filter_list(user=user)
                .filter(project=project)
                .annotate(open_alerts=Count("alerts", filter=~Q(alerts__status=AlertStatus.CLEARED)))
                .order_by("name", "id")
            )
            alerts = alert_list(user=user).filter(project=project)
            status = self.request.GET.get("status")
            if status in AlertStatus.values:
                alerts = alerts.filter(status=status)
            context["alert_status"] = status
            context["alerts"] = paginate(
                self.request, alerts.order_by("cleared_on", "-created_on", "-id"), per_page=ALERTS_PER_PAGE
            )
        if self.can(StreamFilter, "add"):
            context.setdefault(
                "filter_form",
                StreamFilterForm(
                    project=project,
                    streams=visible_streams(project=project, user=user),
                    initial={"initial_state": "normal", "states": "normal\nhigh", "active": True},
                ),
            )
        return context


class FilterCreateView(ScopedFormAction, ProjectFiltersView):
    form_name = "filter_form"
    scope_model = StreamFilter
    scope_action = "add"

    def get_form(self):
        streams = visible_streams(project=self.object, user=self.request.user)
        return StreamFilterForm(**self.get_form_kwargs(), project=self.object, streams=streams)

    def form_valid(self, form):
        data = form.cleaned_data
        device = None
        if data["device"]:
            try:
                device = device_list(user=self.request.user).filter(**device_lookup(data["device"])).first()
            except ValueError:
                device = None
            if device is None:
                form.add_error("device", "Unknown device.")
                return self.form_invalid(form)
        stream_filter = filter_create(
            user=self.request.user,
            project=self.object,
            variable=data["variable"],
            device=device,
            name=data["name"],
            active=data["active"],
            initial_state=data["initial_state"],
            states=data["states"],
            transitions=data["transitions"],
        )
        return self.done(f"Filter {stream_filter.name} created.", filter_url(stream_filter))


class FilterDetailView(ScopedPageView):
    """``/org/<org>/project/<p>/filters/<id>/``: the filter's machine, editable as text, and its latest alerts."""

    model = StreamFilter
    lookup_url_kwarg = "filter_id"
    context_object_name = "stream_filter"
    template_name = "streamfilter/detail.html"

    def get_queryset(self):
        return filter_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {
            "id": int(value),
            "org__slug": self.kwargs["org_slug"],
            **project_lookup(self.kwargs["project_id"], prefix="project__"),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        stream_filter, user = self.object, self.request.user
        context["project"] = stream_filter.project
        context["alerts"] = list(alert_list(user=user).filter(filter=stream_filter)[:20])
        if self.can(StreamFilter, "change"):
            initial = {
                "name": stream_filter.name,
                "initial_state": stream_filter.initial_state,
                "active": stream_filter.active,
                **machine_text(stream_filter),
            }
            streams = visible_streams(project=stream_filter.project, user=user)
            context.setdefault(
                "filter_form",
                StreamFilterForm(project=stream_filter.project, streams=streams, editing=True, initial=initial),
            )
        return context


class FilterUpdateView(ScopedFormAction, FilterDetailView):
    form_name = "filter_form"

    def get_form(self):
        stream_filter = self.object
        streams = visible_streams(project=stream_filter.project, user=self.request.user)
        return StreamFilterForm(**self.get_form_kwargs(), project=stream_filter.project, streams=streams, editing=True)

    def form_valid(self, form):
        data = form.cleaned_data
        stream_filter = filter_update(
            stream_filter=self.object,
            name=data["name"],
            active=data["active"],
            initial_state=data["initial_state"],
            states=data["states"],
            transitions=data["transitions"],
        )
        return self.done(f"Filter {stream_filter.name} saved.", filter_url(stream_filter))


class AlertActionView(ScopedFormAction):
    """POST ``/org/<org>/project/<p>/alerts/<id>/acknowledge/`` (or ``clear/``), back to the filters page."""

    model = StreamFilterAlert
    lookup_url_kwarg = "alert_id"
    form_class = ButtonForm
    verb = "acknowledge"

    def get_queryset(self):
        return alert_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {
            "id": int(value),
            "org__slug": self.kwargs["org_slug"],
            **project_lookup(self.kwargs["project_id"], prefix="project__"),
        }

    def form_valid(self, form):
        alert = self.object
        service = alert_acknowledge if self.verb == "acknowledge" else alert_clear
        service(alert=alert, user=self.request.user)
        done = "acknowledged" if self.verb == "acknowledge" else "cleared"
        return self.done(f"Alert {alert.id} {done}.", filters_url(alert.project))

    def form_invalid(self, form):
        # The service refused (a cleared alert acknowledged): say so on the filters page.
        messages.error(self.request, " ".join(form.non_field_errors()) or "The alert could not be changed.")
        return HttpResponseRedirect(filters_url(self.object.project))
