"""The device page's files tab: the files the device uploaded when asked, with their state, progress, message and
the window asked for, each downloadable once it arrived; a form that asks the device for its files (an ``upload``
operation), and its upload schedules with a form that adds one."""

from __future__ import annotations

from typing import Any

from server.apps.core.views import paginate
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.deviceupload.forms import UploadRequestForm, UploadScheduleForm
from server.apps.deviceupload.models import DeviceUpload, UploadSchedule
from server.apps.deviceupload.selectors import upload_list, upload_schedule_list
from server.apps.operation.models import DeviceOperation

PER_PAGE = 20
MAX_SCHEDULES_SHOWN = 20


def files_tab_context(*, request: Any, device: Any, can: Any) -> dict[str, Any]:
    uploads = upload_list(user=request.user).filter(device=device, org_id=device.org_id).order_by("-created_on", "id")
    schedules = upload_schedule_list(user=request.user).filter(device=device, org_id=device.org_id)
    context: dict[str, Any] = {
        "uploads": paginate(request, uploads, param="files", per_page=PER_PAGE),
        "schedules": list(schedules[:MAX_SCHEDULES_SHOWN]),
    }
    if can(DeviceOperation, "add"):
        context["request_form"] = UploadRequestForm()
    if can(UploadSchedule, "add"):
        context["schedule_form"] = UploadScheduleForm()
        context["can_delete_schedules"] = True
    return context


FILES_TAB = register_device_tab(
    DeviceTab(
        name="files",
        label="Files",
        icon="file-earmark-arrow-up",
        order=70,
        template_name="deviceupload/device.html",
        permission=(DeviceUpload, "view"),
        context=files_tab_context,
        # session, user, device, the user's role and permissions, the uploads (count, page), the schedules
        queries=7,
    )
)
