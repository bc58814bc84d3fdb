"""The device page's files tab: the files the device uploaded when asked, with their state, progress and message,
each downloadable once it arrived, and a button that asks the device for its files (an ``upload`` operation)."""

from __future__ import annotations

from typing import Any

from server.apps.core.forms import ButtonForm
from server.apps.core.views import paginate
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.deviceupload.models import DeviceUpload
from server.apps.deviceupload.selectors import upload_list
from server.apps.operation.models import DeviceOperation

PER_PAGE = 20


def files_tab_context(*, request: Any, device: Any, can: Any) -> dict[str, Any]:
    uploads = upload_list(user=request.user).filter(device=device, org_id=device.org_id).order_by("-created_on", "id")
    context: dict[str, Any] = {"uploads": paginate(request, uploads, param="files", per_page=PER_PAGE)}
    if can(DeviceOperation, "add"):
        context["request_form"] = ButtonForm()
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
        # session, user, device, the user's role and permissions, the uploads (count, page)
        queries=6,
    )
)
