"""The files tab's actions (the tab is in ``tabs.py``): asking the device for its files now or on a schedule, and
downloading one."""

from __future__ import annotations

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views import View

from server.apps.core.forms import ButtonForm
from server.apps.core.views import ScopedPageMixin
from server.apps.device.views import DevicePageMixin, DeviceTabFormAction
from server.apps.deviceupload.forms import UploadRequestForm, UploadScheduleForm
from server.apps.deviceupload.models import UPLOAD_STORE, UploadSchedule
from server.apps.deviceupload.selectors import upload_list, upload_schedule_list
from server.apps.deviceupload.services import upload_schedule_create, upload_schedule_delete
from server.apps.deviceupload.tabs import FILES_TAB
from server.apps.operation.models import DeviceOperation
from server.apps.operation.services.operations import operation_create, operation_request_clean
from server.apps.stores.selectors import store_file_url

DOWNLOAD_SECONDS = 300


class UploadRequestView(DeviceTabFormAction):
    """Sends the device an ``upload`` operation: it asks to upload each of its files (those the filter matches, of
    the window's period)."""

    tab = FILES_TAB
    form_class = UploadRequestForm
    form_name = "request_form"
    scope_model = DeviceOperation
    scope_action = "add"

    def form_valid(self, form: UploadRequestForm) -> HttpResponse:
        request = operation_request_clean(kind="upload", payload=form.payload())
        operation_create(user=self.request.user, device=self.object, request=request)
        return self.done("Asked the device for its files.", self.tab_url())


class UploadScheduleCreateView(DeviceTabFormAction):
    """Asks the device for its files every N hours (the worker makes the requests)."""

    tab = FILES_TAB
    form_class = UploadScheduleForm
    form_name = "schedule_form"
    scope_model = UploadSchedule
    scope_action = "add"

    def form_valid(self, form: UploadScheduleForm) -> HttpResponse:
        data = form.cleaned_data
        upload_schedule_create(
            user=self.request.user, device=self.object, every_hours=data["every_hours"], files=data["file_filter"]
        )
        hours = data["every_hours"]
        return self.done(f"The device will be asked for its files every {hours} h.", self.tab_url())


class UploadScheduleDeleteView(DeviceTabFormAction):
    tab = FILES_TAB
    form_class = ButtonForm
    form_name = "schedule_delete_form"
    scope_model = UploadSchedule
    scope_action = "delete"

    def form_valid(self, form: ButtonForm) -> HttpResponse:
        schedule = (
            upload_schedule_list(user=self.request.user)
            .filter(device_id=self.object.pk, pk=self.kwargs["schedule_id"])
            .first()
        )
        if schedule is None:
            raise Http404
        upload_schedule_delete(user=self.request.user, schedule=schedule)
        return self.done("Schedule removed.", self.tab_url())


class UploadDownloadView(DevicePageMixin, ScopedPageMixin, View):
    """A file the device uploaded: a redirect to a short-lived link (S3 presigned, or a signed link to this site)."""

    def get(self, request, *args, **kwargs) -> HttpResponse:
        device = self.get_object()
        upload = upload_list(user=request.user).filter(device_id=device.pk, pk=self.kwargs["upload_id"]).first()
        if upload is None or upload.size is None:
            raise Http404
        return HttpResponseRedirect(store_file_url(store=UPLOAD_STORE, key=upload.key, expires=DOWNLOAD_SECONDS))
