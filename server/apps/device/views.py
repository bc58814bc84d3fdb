"""The device page: details, status, streams with their latest values, the report history, uploading a report,
editing, unclaiming and replacing; and the one view that serves the tabs other apps register (``device/tabs.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from server.apps.core.api.routers import api_url
from server.apps.core.lookups import device_id_from
from server.apps.core.views import ScopedFormAction, ScopedPageMixinBase, ScopedPageView, paginate
from server.apps.datablock.forms import DataBlockForm
from server.apps.datablock.models import DataBlock
from server.apps.datablock.selectors import datablock_list
from server.apps.device.forms import DeviceForm, DeviceReplaceForm, DeviceUnclaimForm
from server.apps.device.models import Device
from server.apps.device.selectors import stream_latest_data, with_last_report
from server.apps.device.services import device_replace, device_unclaim, device_update
from server.apps.device.tabs import DeviceTab, device_tabs
from server.apps.deviceauth.api.serializers import STORED_KEY_TYPES
from server.apps.deviceauth.selectors import device_key_for_download, device_keys_for_download
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list
from server.apps.streamalias.models import StreamAlias
from server.apps.streamalias.selectors import tap_list
from server.apps.streamer.selectors import streamer_list, streamer_report_list

# A device that has not reported for this long gets a warning next to its status.
QUIET_AFTER = timedelta(hours=2)
# The device page's overview lists this many of the device's data blocks, newest first, and alias taps.
OVERVIEW_BLOCKS = 5
MAX_OVERVIEW_TAPS = 50
# device_replace starts a new alias here, "from the beginning": the page says "from the start" rather than 1970.
ALIAS_FIRST = datetime(1970, 1, 2, tzinfo=UTC)
# Stored key types by the name the API's ``?type=`` and the download URLs use.
STORED_KEY_NAMES = {key_type: name for name, key_type in STORED_KEY_TYPES.items()}


def device_url(device: Device, name: str = "detail") -> str:
    """The device page (``name="detail"``), one of its actions (``"replace"``) or its tabs (``"notes"``), or a page
    of another app about the device (``"streamnote:create"``)."""
    view_name = name if ":" in name else f"device:{name}"
    assert device.org is not None, "only a claimed device has pages"
    return reverse(view_name, kwargs={"org_slug": device.org.slug, "device_slug": device.slug})


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


def device_token_url(device: Device) -> str:
    """The API's device token for ``device`` (``device/<d>/key/?type=a-jwt``), which the page fetches on request."""
    return f"{api_url('device-key', slug=device.slug)}?type=a-jwt"


class DevicePageMixin(ScopedPageMixinBase):
    """Finds the device named in the URL (any slug form) in the URL's organisation, among those the user sees."""

    model = Device
    object: Device  # the page's device, which ScopedPageView.dispatch finds
    lookup_url_kwarg = "device_slug"
    context_object_name = "device"

    def get_queryset(self):
        devices = super().get_queryset().select_related("org", "project", "sg", "template", "claimed_by", "presence")
        return with_last_report(devices)

    def object_lookup(self, value: str) -> dict:
        return {"id": device_id_from(value), "org__slug": self.kwargs["org_slug"]}

    def report_history(self):
        reports = streamer_report_list(user=self.request.user).filter(streamer__device=self.object)
        return paginate(self.request, reports, param="reports", per_page=10)

    def header_context(self) -> dict:
        """What the page's header and tab bar show: the device's status and the tabs the user's role sees."""
        can = self.can
        return {"status": device_status(self.object), "device_tabs": [tab for tab in device_tabs() if tab.visible(can)]}


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
        latest = stream_latest_data(streams=list(page)) if can(StreamId, "read_data") else {}
        for stream in page:
            row = latest.get(stream.slug)
            stream.latest_time = row.timestamp if row else None
            stream.latest_value = stream.output_value(row.value) if row else None
            stream.units, stream.decimals = stream.display_units, stream.display_decimal_places
        return page

    def device_aliases(self) -> list[dict]:
        """The stream aliases reading one of the device's streams (live or archived), each with the stream and the
        time it reads it from: one query. A replaced device and its replacement both show the alias that joins
        them."""
        taps = tap_list(user=self.request.user).filter(stream__device=self.object).order_by("alias_id", "timestamp")
        return [
            {"alias": tap.alias, "stream": tap.stream, "since": tap.timestamp if tap.timestamp > ALIAS_FIRST else None}
            for tap in taps[:MAX_OVERVIEW_TAPS]
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device, can, user = self.object, self.can, self.request.user
        context.update(
            self.header_context(),
            streams=self.streams_with_latest_values(),
            reports=self.report_history(),
            streamers=list(streamer_list(user=user).filter(device=device)),
            upload_url=api_url("streamerreport-list"),
        )
        if can(StreamAlias, "view"):
            context["aliases"] = self.device_aliases()
        if can(DataBlock, "view"):
            context["blocks"] = list(
                datablock_list(user=user).filter(device=device).order_by("-block")[:OVERVIEW_BLOCKS]
            )
        if can(Device, "change"):
            initial = {field: getattr(device, field) for field in ("label", "external_id", "lat", "lon", "active")}
            context.setdefault("device_form", DeviceForm(initial={**initial, "sg": device.sg}))
            context["keys"] = [
                (STORED_KEY_NAMES[key_type], label)
                for key_type, label in device_keys_for_download(user=user, device=device)
                if key_type in STORED_KEY_NAMES
            ]
            context["token_url"] = device_token_url(device)
        if can(Device, "claim"):
            context.setdefault("unclaim_form", DeviceUnclaimForm())
        if can(Device, "change") and can(StreamAlias, "add") and device.project_id and not device.busy:
            context.setdefault("replace_form", DeviceReplaceForm(initial={"timestamp": timezone.now()}))
        if can(DataBlock, "add") and device.project_id and not device.busy:
            context.setdefault("archive_form", DataBlockForm())
        return context


class DeviceTabView(DevicePageMixin, ScopedPageView):
    """Any registered tab of the device page (``/org/<org>/device/<d-->/<tab>/``): the device, the page's header
    and tabs (``device/base.html``), then what the tab's ``context`` reads. ``device/urls.py`` serves each tab with
    it; a tab's form actions subclass :class:`DeviceTabFormAction`."""

    tab: DeviceTab | None = None

    def get(self, request, *args, **kwargs):
        if kwargs["device_slug"] != self.object.slug:
            return HttpResponseRedirect(self.tab.url(self.object))
        return super().get(request, *args, **kwargs)

    def get_template_names(self) -> list[str]:
        assert self.tab is not None, "a tab's view is made with as_view(tab=…) or sets tab"
        return [self.tab.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.header_context(), tab=self.tab)
        # A bound form a failed action passed in (``kwargs``) wins over the tab's empty one.
        for name, value in self.tab.context(request=self.request, device=self.object, can=self.can).items():
            context.setdefault(name, value)
        return context


class DeviceTabFormAction(ScopedFormAction, DeviceTabView):
    """A form of a tab, at its own URL (set ``tab``): on errors the tab comes back with the form and its messages;
    ``tab_url()`` is where a success goes back to."""

    def tab_url(self) -> str:
        assert self.tab is not None, "a tab's form action sets tab"
        return self.tab.url(self.object)


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


class DeviceReplaceView(DeviceFormAction):
    """Replaces the device in the field by another from a given time (``device_replace``), then shows the new
    device, whose streams continue the old one's through stream aliases. The service checks
    ``can_manage_stream_aliases`` (and ``can_claim_devices`` when the new device must be claimed)."""

    form_class = DeviceReplaceForm
    form_name = "replace_form"
    scope_action = "change"

    def form_valid(self, form):
        replacement = device_replace(
            old_device=self.object,
            new_device=form.cleaned_data["new_device"],
            at=form.cleaned_data["timestamp"],
            user=self.request.user,
            claim_key=form.cleaned_data["claim_key"],
        )
        new_device = replacement.new_device
        aliases = sorted({replaced.alias.slug for replaced in replacement.streams})
        continued = f" Its streams continue as {', '.join(aliases)}." if aliases else ""
        return self.done(f"{new_device.slug} replaces {self.object.slug}.{continued}", device_url(new_device))


class DeviceKeyDownloadView(DevicePageMixin, ScopedPageView):
    """``key/<type>/``: a stored key the user may download, as a text file (``can_modify_device``, like the API's
    ``device/<d>/key/``). A key that is not there, or not downloadable, is a 404."""

    def get(self, request, *args, **kwargs):
        self.require(self.object, "change")
        key_type = STORED_KEY_TYPES.get(kwargs["key_type"])
        key = device_key_for_download(user=request.user, device=self.object, key_type=key_type) if key_type else None
        if key is None:
            raise Http404("No such key.")
        response = HttpResponse(f"{key.secret}\n", content_type="text/plain; charset=utf-8")
        filename = f"{self.object.slug}-{kwargs['key_type']}.key"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
