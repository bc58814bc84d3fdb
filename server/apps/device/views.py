"""The device page: details, status, streams with their latest values, the report history, uploading a report,
editing and unclaiming."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from server.apps.core.lookups import device_id_from
from server.apps.core.views import ScopedFormAction, ScopedPageView, paginate
from server.apps.device.forms import DeviceForm, DeviceUnclaimForm
from server.apps.device.models import Device
from server.apps.device.selectors import stream_latest_data, with_last_report
from server.apps.device.services import device_unclaim, device_update
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list
from server.apps.streamer.models import StreamerReport
from server.apps.streamer.selectors import streamer_list, streamer_report_list

# A device that has not reported for this long gets a warning next to its status.
QUIET_AFTER = timedelta(hours=2)
# Where the browser uploads a report when the API's route cannot be named.
REPORT_UPLOAD_PATH = "/api/v1/streamer/report/"


def device_url(device: Device) -> str:
    return reverse("device:detail", kwargs={"org_slug": device.org.slug, "device_slug": device.slug})


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


@dataclass(frozen=True)
class DeviceStatus:
    """What a device's status badge and health hint say, with their Bootstrap colours."""

    label: str
    tone: str
    hint: str
    hint_tone: str


def device_status(device: Device, now: datetime | None = None) -> DeviceStatus:
    """Active, inactive or busy, and how recently it reported (``device.last_report``, see ``with_last_report``)."""
    if device.busy:
        label, tone = ("Archiving" if device.state == "B1" else "Resetting"), "warning"
    elif not device.active:
        label, tone = "Inactive", "secondary"
    else:
        label, tone = "Active", "success"
    last_report = getattr(device, "last_report", None)
    if last_report is None:
        return DeviceStatus(label, tone, "No report yet", "secondary")
    quiet = (now or timezone.now()) - last_report
    if quiet > QUIET_AFTER and device.active:
        return DeviceStatus(label, tone, f"No report for {_ago(quiet)}", "warning")
    ago = _ago(quiet)
    return DeviceStatus(label, tone, "Reported just now" if ago == "just now" else f"Reported {ago} ago", "success")


def report_upload_url() -> str:
    try:
        url = reverse("streamerreport-list")
    except NoReverseMatch:
        return REPORT_UPLOAD_PATH
    # The API's routes take an optional slash, which reverse() leaves out; the documented form has it.
    return url if url.endswith("/") else f"{url}/"


class DevicePageMixin:
    """Finds the device named in the URL (any slug form) in the URL's organisation, among those the user sees."""

    model = Device
    lookup_url_kwarg = "device_slug"
    context_object_name = "device"
    ability_models = (StreamId, StreamerReport)

    def get_queryset(self):
        devices = super().get_queryset().select_related("org", "project", "sg", "template", "claimed_by")
        return with_last_report(devices)

    def object_lookup(self, value: str) -> dict:
        return {"id": device_id_from(value), "org__slug": self.kwargs["org_slug"]}

    def report_history(self):
        reports = streamer_report_list(user=self.request.user).filter(streamer__device=self.object)
        return paginate(self.request, reports, param="reports", per_page=10)


class DeviceDetailView(DevicePageMixin, ScopedPageView):
    """``/org/<org>/device/<d-- slug>/``. A slug in a short or upper-case form is redirected to the canonical one."""

    template_name = "device/detail.html"

    def get(self, request, *args, **kwargs):
        if kwargs["device_slug"] != self.object.slug:
            return HttpResponseRedirect(device_url(self.object))
        return super().get(request, *args, **kwargs)

    def streams_with_latest_values(self):
        device, user, can = self.object, self.request.user, self.can
        streams = (
            stream_list(user=user)
            .filter(device=device, project_id=device.project_id, block__isnull=True)
            .order_by("var_lid")
        )
        page = paginate(self.request, streams, param="streams")
        latest = stream_latest_data(stream_slugs=[s.slug for s in page]) if can.read_data_streamid else {}
        for stream in page:
            row = latest.get(stream.slug)
            stream.latest_time = row.timestamp if row else None
            stream.latest_value = stream.output_value(row.value) if row else None
            unit, variable = stream.output_unit, stream.variable
            stream.units = (
                (unit.unit_short or unit.unit_full if unit else "")
                or (variable.units if variable else "")
                or (stream.var_type.storage_units_short if stream.var_type else "")
            )
            stream.decimals = unit.decimal_places if unit else (variable.decimal_places if variable else 2)
        return page

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device, can = self.object, self.can
        context.update(
            status=device_status(device),
            streams=self.streams_with_latest_values(),
            reports=self.report_history(),
            streamers=list(streamer_list(user=self.request.user).filter(device=device)),
            upload_url=report_upload_url(),
        )
        if can.change_device:
            initial = {field: getattr(device, field) for field in ("label", "external_id", "lat", "lon", "active")}
            context.setdefault("device_form", DeviceForm(initial={**initial, "sg": device.sg}))
        if can.claim_device:
            context.setdefault("unclaim_form", DeviceUnclaimForm())
        return context


class DeviceReportsView(DevicePageMixin, ScopedPageView):
    """The report history alone, as the device page shows it: the page refreshes it after an upload."""

    template_name = "device/includes/reports.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "reports": self.report_history()}


class DeviceFormAction(ScopedFormAction, DeviceDetailView):
    """A form of the device page; on errors the page comes back with the form and its messages."""


class DeviceUpdateView(DeviceFormAction):
    form_class = DeviceForm
    form_name = "device_form"
    scope_action = "change"

    def form_valid(self, form):
        device = device_update(device=self.object, user=self.request.user, **form.service_fields())
        return self.done("Device saved.", device_url(device))


class DeviceUnclaimView(DeviceFormAction):
    form_class = DeviceUnclaimForm
    form_name = "unclaim_form"
    scope_action = "claim"

    def form_valid(self, form):
        device, project, org = self.object, self.object.project, self.object.org
        if project is not None:
            back = reverse("project:detail", kwargs={"org_slug": org.slug, "project_id": project.slug})
        else:
            back = reverse("org:detail", kwargs={"org_slug": org.slug})
        deleted = device_unclaim(device=device, clean_streams=form.cleaned_data["clean_streams"])
        note = f" {deleted} data rows were deleted." if deleted else ""
        return self.done(f"Device {device.slug} was unclaimed from {project or org}.{note}", back)
