"""The device page's operations tab: presence, the command form, each operation with its history."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import make_member
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.tabs import OPERATIONS_TAB
from server.apps.operation.tests.factories import make_operation
from server.apps.org.roles import OPERATOR


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(device, name: str = "", **kwargs) -> str:
    return reverse(
        f"operation:{name}" if name else "device:operations",
        kwargs={"org_slug": device.org.slug, "device_slug": device.slug, **kwargs},
    )


class TestOperationsTab(DeviceTabCases):
    tab = OPERATIONS_TAB

    def add_rows(self, device, count: int) -> None:
        for _ in range(count):
            make_operation(device)

    def rows_in(self, response) -> int:
        return len(response.context["operations"])


@pytest.fixture
def device(db):
    return make_device(make_project(name="North basin"), label="Pump 7")


def test_queueing_a_command_for_the_device_and_its_project(device):
    sibling = make_device(device.project)
    client = logged_in(device.org.created_by)
    form = {"command": "stop_app('x')", "service": "monitoring-1.0", "transport": "http"}
    response = client.post(url(device, "command"), form)
    assert response.status_code == 302
    operation = DeviceOperation.objects.get()
    assert (operation.device, operation.payload["command"], operation.transport) == (device, "stop_app('x')", "http")
    client.post(url(device, "command"), {**form, "whole_project": "on"})
    assert DeviceOperation.objects.filter(device=sibling).count() == 1
    page = client.get(url(device)).content.decode()
    assert "stop_app(&#x27;x&#x27;)" in page
    assert 'data-testid="device-presence"' in page


def test_an_operator_sends_a_command_from_the_tab(device):
    client = logged_in(make_member(device.org, OPERATOR))
    assert "command_form" in client.get(url(device)).context
    form = {"command": "get_app_status()", "service": "monitoring-1.0", "transport": "http"}
    assert client.post(url(device, "command"), form).status_code == 302
    operation = DeviceOperation.objects.get()
    assert (operation.device, operation.payload["command"]) == (device, "get_app_status()")
    assert client.post(url(device, "cancel", operation_id=operation.id)).status_code == 302
    assert DeviceOperation.objects.get().status == OperationStatus.CANCELED


def test_a_bad_command_shows_the_form_again(device):
    response = logged_in(device.org.created_by).post(url(device, "command"), {"command": "rm -rf /"})
    assert response.status_code == 200
    assert response.context["command_form"].errors
    assert not DeviceOperation.objects.exists()


def test_cancel_from_the_tab_and_scoping(device):
    operation = make_operation(device)
    operator = make_member(device.org, OPERATOR)
    membership = operator.org_memberships.get()
    membership.permissions["can_operate_devices"] = False
    membership.save(update_fields=["permissions"])
    assert logged_in(operator).post(url(device, "cancel", operation_id=operation.id)).status_code == 403
    outsider = make_device(make_project()).org.created_by
    assert logged_in(outsider).get(url(device)).status_code == 404
    assert logged_in(outsider).post(url(device, "cancel", operation_id=operation.id)).status_code == 404
    assert DeviceOperation.objects.get().status == OperationStatus.PENDING
    response = logged_in(device.org.created_by).post(url(device, "cancel", operation_id=operation.id))
    assert response.status_code == 302
    assert DeviceOperation.objects.get().status == OperationStatus.CANCELED
