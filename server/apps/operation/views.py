"""The operations tab's forms (the tab is in ``tabs.py``): queueing a command, canceling an operation."""

from __future__ import annotations

from django.http import Http404, HttpResponse

from server.apps.core.forms import ButtonForm
from server.apps.device.models import Device
from server.apps.device.views import DeviceTabFormAction
from server.apps.operation.forms import CommandForm
from server.apps.operation.models import DeviceOperation
from server.apps.operation.selectors import operations_for_device
from server.apps.operation.services.operations import (
    operation_cancel,
    operation_request_clean,
    operations_create,
)
from server.apps.operation.tabs import OPERATIONS_TAB


class CommandCreateView(DeviceTabFormAction):
    tab = OPERATIONS_TAB
    form_class = CommandForm
    form_name = "command_form"
    scope_model = DeviceOperation
    scope_action = "add"

    def form_valid(self, form: CommandForm) -> HttpResponse:
        data = form.cleaned_data
        request = operation_request_clean(
            kind="command",
            payload={"command": data["command"], "service": data["service"]},
            transport=data["transport"],
        )
        device: Device = self.object
        devices = [device]
        if data["whole_project"] and device.project_id is not None:
            devices = list(
                Device.objects.restrict(self.request.user, "view")
                .filter(project_id=device.project_id)
                .select_related("presence")
            )
        created = operations_create(user=self.request.user, devices=devices, request=request)
        noun = "command" if len(created) == 1 else f"commands for {len(created)} devices"
        return self.done(f"Queued {noun}.", self.tab_url())


class OperationCancelView(DeviceTabFormAction):
    tab = OPERATIONS_TAB
    form_class = ButtonForm
    form_name = "cancel_form"
    scope_model = DeviceOperation
    scope_action = "change"

    def form_valid(self, form: ButtonForm) -> HttpResponse:
        operations = operations_for_device(user=self.request.user, device=self.object)
        operation = operations.filter(pk=self.kwargs["operation_id"]).first()
        if operation is None:
            raise Http404
        operation_cancel(user=self.request.user, operation=operation)
        return self.done("Operation canceled.", self.tab_url())
