"""Staff pages: the worker (queue depth, run log, dead letters), every organisation and device, creating
devices in batches, and a device's keys (set, rotate, revoke). Everyone but staff gets a 404; the lists come from
selectors that show staff everything."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from server.apps.core.errors import ApplicationError
from server.apps.core.lookups import device_id_from
from server.apps.core.slugs import SlugError
from server.apps.core.views import StaffPageMixin, paginate
from server.apps.device.selectors import device_list, with_last_report
from server.apps.device.views import device_status
from server.apps.deviceauth.models import DEVICE_KEY_NAME_OF, DEVICE_KEY_NAMES
from server.apps.deviceauth.selectors import device_keys
from server.apps.deviceauth.services import device_key_revoke, device_key_rotate, device_key_set
from server.apps.main.selectors import org_list_for_home
from server.apps.org.selectors import org_list_for_user
from server.apps.staff.forms import DeviceBatchForm, DeviceKeyForm, RunFilterForm, SearchForm
from server.apps.staff.services import devices_create_batch
from server.apps.worker.models import WorkerRun
from server.apps.worker.selectors import dead_letters, queue_depth, recent_runs
from server.apps.worker.services import dead_letter_requeue

logger = logging.getLogger(__name__)


def _search(request) -> str:
    form = SearchForm(request.GET)
    return form.cleaned_data["q"].strip() if form.is_valid() else ""


class StaffHomeView(StaffPageMixin, TemplateView):
    """``/staff/``: the queue, the last day's runs by status, the latest runs and what waits in dead letters."""

    template_name = "staff/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        try:
            depth = queue_depth(user=user)
        except Exception:  # the page still shows the rest when the queue (SQS) cannot be reached
            logger.exception("could not read the queue depth")
            depth = None
        since = timezone.now() - timedelta(days=1)
        by_status = dict(
            recent_runs(user=user, limit=None)
            .filter(started_at__gte=since)
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
        )
        context.update(
            depth=depth,
            runs_last_day=sum(by_status.values()),
            runs_ok=by_status.get("success", 0),
            runs_retried=by_status.get("retry", 0),
            runs_failed=by_status.get("failed", 0) + by_status.get("dead", 0),
            runs=recent_runs(user=user, limit=10),
            dead_letter_count=dead_letters(user=user).count(),
            org_count=org_list_for_user(user=user).count(),
            device_counts=device_list(user=user).aggregate(
                total=Count("id"), unclaimed=Count("id", filter=Q(project__isnull=True))
            ),
        )
        return context


class WorkerRunListView(StaffPageMixin, TemplateView):
    """``/staff/worker/runs/``: the run log, paged, filtered by status and action."""

    template_name = "staff/runs.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = RunFilterForm(self.request.GET)
        filters = form.cleaned_data if form.is_valid() else {}
        runs = recent_runs(
            user=self.request.user, action=filters.get("action") or None, status=filters.get("status"), limit=None
        )
        context.update(form=form, runs=paginate(self.request, runs), actions=self.known_actions())
        return context

    def known_actions(self) -> list[str]:
        return list(
            WorkerRun.objects.restrict(self.request.user, "view")
            .order_by("action")
            .values_list("action", flat=True)
            .distinct()
        )


class DeadLetterListView(StaffPageMixin, TemplateView):
    """``/staff/worker/dead-letters/``: messages the worker gave up on, with their errors; requeue sends one
    again once its cause is fixed."""

    template_name = "staff/dead_letters.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        show_all = self.request.GET.get("all") == "1"
        letters = dead_letters(user=self.request.user, include_requeued=show_all)
        context.update(letters=paginate(self.request, letters), show_all=show_all)
        return context


class DeadLetterRequeueView(StaffPageMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        letter = dead_letters(user=request.user, include_requeued=True).filter(pk=pk).first()
        if letter is None:
            raise Http404
        try:
            message_id = dead_letter_requeue(dead_letter=letter)
        except ApplicationError as error:
            messages.error(request, f"Dead letter {letter.pk} was not requeued: {error.message}.")
        else:
            messages.success(request, f"{letter.action} requeued as message {message_id}.")
        return HttpResponseRedirect(reverse("staff:dead-letters"))


class OrgListView(StaffPageMixin, TemplateView):
    """``/staff/orgs/``: every organisation with its counts, searched by name or slug."""

    template_name = "staff/orgs.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        q = _search(self.request)
        orgs = org_list_for_home(self.request.user).select_related("created_by").order_by("name")
        if q:
            orgs = orgs.filter(Q(name__icontains=q) | Q(slug__icontains=q))
        context.update(orgs=paginate(self.request, orgs), q=q)
        return context


class DeviceListView(StaffPageMixin, TemplateView):
    """``/staff/devices/``: every device, newest first, searched by slug (any form), label or external id; and
    the batch creation form."""

    template_name = "staff/devices.html"

    def devices(self, q: str):
        devices = device_list(user=self.request.user)
        if q:
            condition = Q(label__icontains=q) | Q(external_id__icontains=q)
            try:
                condition |= Q(id=device_id_from(q))
            except (SlugError, ValueError):
                pass
            devices = devices.filter(condition)
        return with_last_report(devices).order_by("-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        q = _search(self.request)
        devices = paginate(self.request, self.devices(q))
        for device in devices:
            device.status = device_status(device)
        context.update(devices=devices, q=q)
        context.setdefault("batch_form", DeviceBatchForm())
        return context


class DeviceBatchCreateView(DeviceListView):
    """Creates the batch and lists the new slugs; errors show on the devices page's form."""

    http_method_names = ["post"]

    def post(self, request):
        form = DeviceBatchForm(request.POST)
        if form.is_valid():
            try:
                devices = devices_create_batch(created_by=request.user, **form.service_fields())
            except ApplicationError as error:
                form.add_service_error(error)
            else:
                context = {"devices": devices, "slugs": "\n".join(device.slug for device in devices)}
                return render(request, "staff/devices_created.html", context)
        return self.render_to_response(self.get_context_data(batch_form=form, failed_form="batch_form"))


class DeviceKeysView(StaffPageMixin, TemplateView):
    """``/staff/devices/<d>/keys/``: the device's keys (never their secrets), with rotate and revoke; the form sets
    one. A secret that was just set or rotated is shown once, on the page that answers the form."""

    template_name = "staff/device_keys.html"

    def device(self):
        try:
            device_id = device_id_from(self.kwargs["device_slug"])
        except (SlugError, ValueError) as exc:
            raise Http404 from exc
        device = device_list(user=self.request.user).filter(id=device_id).first()
        if device is None:
            raise Http404
        return device

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device = kwargs.get("device") or self.device()
        keys = list(device_keys(device=device))
        for key in keys:
            key.name = DEVICE_KEY_NAME_OF[key.type]
        context.update(device=device, keys=keys)
        context.setdefault("key_form", DeviceKeyForm())
        return context

    def post(self, request, device_slug: str):
        device = self.device()
        form = DeviceKeyForm(request.POST)
        if form.is_valid():
            try:
                key = device_key_set(device=device, created_by=request.user, **form.service_fields())
            except ApplicationError as error:
                form.add_service_error(error)
            except ValidationError as error:  # the key's own rules (a root key's 64 hex digits)
                form.add_error(None, error)
            else:
                return self.render_to_response(self.get_context_data(device=device, revealed=key))
        return self.render_to_response(self.get_context_data(device=device, key_form=form, failed_form="key_form"))


class DeviceKeyOperationView(DeviceKeysView):
    """Rotates (the page then shows the new secret once) or revokes one key."""

    http_method_names = ["post"]

    def post(self, request, device_slug: str, key_name: str = "", operation: str = ""):
        device = self.device()
        key_type = DEVICE_KEY_NAMES.get(key_name)
        if key_type is None or operation not in ("rotate", "revoke"):
            raise Http404
        try:
            if operation == "rotate":
                key = device_key_rotate(device=device, type=key_type, rotated_by=request.user)
                return self.render_to_response(self.get_context_data(device=device, revealed=key))
            device_key_revoke(device=device, type=key_type, revoked_by=request.user)
        except ApplicationError as error:
            messages.error(request, f"The {key_name} key was not changed: {error.message}")
        else:
            messages.success(request, f"The {key_name} key of {device.slug} was revoked.")
        return HttpResponseRedirect(reverse("staff:device-keys", kwargs={"device_slug": device.slug}))
