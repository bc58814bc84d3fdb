"""operation/: operations queued by users and answered by devices over HTTP with their own token."""

from __future__ import annotations

import uuid

import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member
from server.apps.device.tests.factories import make_device, make_project
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.tests.factories import device_client, make_operation
from server.apps.org.models import OrgMembership
from server.apps.org.roles import ADMIN, DEVELOPER, MEMBER, OPERATOR, OWNER
from server.apps.worker.models import QueueMessage
from server.config.api_schema import api_schema

OPERATIONS = "/api/v1/operation/"
POLL = f"{OPERATIONS}poll/"
REPLY = f"{OPERATIONS}reply/"


class TestOperationEndpoint(ScopedEndpointCases):
    list_url = OPERATIONS
    list_key = "id"
    write_method = None
    # Every role may queue operations (can_operate_devices), the operator the least of them.
    allowed_role = OPERATOR
    denied_role = None
    created_model = DeviceOperation
    list_query_count = 3  # authentication, count, page
    stored_as = {"device": "device.slug", "deadline_seconds": lambda op: 600}

    def make_object(self, org):
        return make_operation(make_device(make_project(org)))

    def detail_url(self, obj) -> str:
        return f"{OPERATIONS}{obj.id}/"

    def create_data(self, org) -> dict:
        device = make_device(make_project(org))
        return {
            "device": device.slug,
            "kind": "command",
            "payload": {"command": "stop_app('x')", "service": "monitoring-1.0"},
            "transport": "http",
            "deadline_seconds": 600,
        }


@pytest.fixture
def device(db):
    return make_device(make_project())


@pytest.fixture
def owner(device):
    return device.org.created_by


def test_create_for_every_device_of_a_project(device, owner, django_capture_on_commit_callbacks):
    other = make_device(device.project)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).post(
            OPERATIONS,
            {"project": device.project.slug, "kind": "command", "payload": {"command": "get_app_status()"}},
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 2
    saved = DeviceOperation.objects.filter(batch=body["batch"])
    assert sorted(saved.values_list("device_id", flat=True)) == sorted([device.pk, other.pk])
    assert set(saved.values_list("transport", "status")) == {("store", "PENDING")}
    # One message to the worker sends them both.
    assert QueueMessage.objects.filter(action="SendOperations").count() == 1


def member_without_operate(org):
    """A member whose permissions were edited one by one: ``can_operate_devices`` taken away."""
    user = make_member(org, MEMBER)
    membership = OrgMembership.objects.get(org=org, user=user)
    membership.permissions["can_operate_devices"] = False
    membership.save(update_fields=["permissions"])
    return user


@pytest.mark.parametrize("role", [OWNER, ADMIN, MEMBER, OPERATOR, DEVELOPER])
def test_every_role_queues_and_cancels_operations(device, role):
    """Sending devices commands is running them (``can_operate_devices``), which every role has, the operator
    included; editing the device's record is not, and the operator still may not."""
    client = api_client(make_member(device.org, role))
    body = {"device": device.slug, "kind": "command", "payload": {"command": "get_app_status()"}}
    response = client.post(OPERATIONS, body, format="json")
    assert response.status_code == 201, response.content
    operation = DeviceOperation.objects.get(pk=response.json()["id"])
    assert (operation.device_id, operation.kind, operation.created_by.username) == (
        device.pk,
        "command",
        response.wsgi_request.user.username,
    )
    assert client.post(f"{OPERATIONS}{operation.id}/cancel/").status_code == 200
    assert DeviceOperation.objects.get(pk=operation.pk).status == OperationStatus.CANCELED
    edit = client.patch(f"/api/v1/device/{device.slug}/", {"label": "renamed"}, format="json")
    assert edit.status_code == (403 if role == OPERATOR else 200), edit.content
    device.refresh_from_db()
    assert device.label == ("renamed" if role != OPERATOR else device.label)


def test_a_member_without_can_operate_devices_may_not_queue(device):
    body = {"device": device.slug, "kind": "command", "payload": {"command": "get_app_status()"}}
    response = api_client(member_without_operate(device.org)).post(OPERATIONS, body, format="json")
    assert response.status_code == 403, response.content
    assert not DeviceOperation.objects.exists()


@pytest.mark.parametrize(("role", "allowed"), [(OPERATOR, False), (MEMBER, False), (OWNER, False), (DEVELOPER, True)])
def test_a_desired_state_through_operation_needs_can_manage_ota(device, role, allowed):
    """A desired state installs software: queueing one also needs the OTA managers' key, as its own endpoint does."""
    document = {"domains": [{"id": "containers", "components": [{"id": "influxdb", "version": "2.8.0"}]}]}
    body = {"device": device.slug, "kind": "desiredstate", "payload": document}
    response = api_client(make_member(device.org, role)).post(OPERATIONS, body, format="json")
    assert response.status_code == (201 if allowed else 403), response.content
    assert DeviceOperation.objects.filter(kind="desiredstate").count() == int(allowed)


SELF = "<the device>"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "command", "payload": {"command": "get_app_status()"}}, "device"),
        ({"device": SELF, "project": "p--0000-0001", "kind": "command", "payload": "x()"}, "device"),
        ({"device": SELF, "fleet": "g--0000-0000-0001", "kind": "command", "payload": "x()"}, "device"),
        ({"fleet": "g--zz", "kind": "command", "payload": {"command": "x()"}}, "fleet"),
        ({"fleet": "-1", "kind": "command", "payload": {"command": "x()"}}, "fleet"),
        ({"device": "?", "kind": "command", "payload": {"command": "x()"}}, "device"),
        ({"device": SELF, "kind": "reboot", "payload": {}}, "kind"),
        ({"device": SELF, "kind": "command", "payload": {"command": "rm -rf /"}}, "payload"),
        ({"device": SELF, "kind": "command", "payload": {"command": "x()", "service": "../etc"}}, "payload"),
        ({"device": SELF, "kind": "command", "payload": {"command": "x()"}, "transport": "pigeon"}, "transport"),
        ({"device": SELF, "kind": "config", "name": "lower", "payload": 1}, "name"),
        ({"device": SELF, "kind": "config", "payload": {"blob": "x" * 70_000}}, "payload"),
        ({"device": SELF, "kind": "command", "payload": "x()", "deadline_seconds": 10**9}, "deadline_seconds"),
        # A payload is optional only for a kind that takes none or whose payload is optional.
        ({"device": SELF, "kind": "command"}, "payload"),
        ({"device": SELF, "kind": "config", "name": "SET_TEMP"}, "payload"),
        ({"device": SELF, "kind": "desiredstate"}, "payload"),
        ({"device": SELF, "kind": "reboot"}, "kind"),
        ({"device": SELF, "kind": "currentstate", "payload": {"x": 1}}, "payload"),
        ({"device": SELF, "kind": "currentstate", "payload": []}, "payload"),
        ({"device": SELF, "kind": "currentstate", "payload": None}, "payload"),
        ({"device": SELF, "kind": "upload", "payload": {"options": {"a": 1}}}, "payload"),
    ],
)
def test_bad_requests_are_400_and_save_nothing(device, owner, body, field):
    body = {key: device.slug if value == SELF else value for key, value in body.items()}
    response = api_client(owner).post(OPERATIONS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not DeviceOperation.objects.exists()


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        ({"kind": "currentstate"}, {}),
        ({"kind": "currentstate", "payload": {}}, {}),
        ({"kind": "upload"}, {"options": {}}),
        ({"kind": "upload", "payload": {"options": {"info.note": "x"}}}, {"options": {"info.note": "x"}}),
    ],
)
def test_a_kind_that_takes_no_payload_may_leave_it_out(device, owner, body, stored):
    response = api_client(owner).post(OPERATIONS, {"device": device.slug, **body}, format="json")
    assert response.status_code == 201, response.content
    operation = DeviceOperation.objects.get()
    assert (operation.kind, operation.payload, operation.status) == (body["kind"], stored, OperationStatus.PENDING)
    assert response.json()["payload"] == stored


def test_a_project_wide_inventory_refresh_without_a_payload(device, owner):
    other = make_device(device.project)
    body = {"project": device.project.slug, "kind": "currentstate"}
    response = api_client(owner).post(OPERATIONS, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 2
    saved = DeviceOperation.objects.filter(batch=response.json()["batch"])
    assert sorted(saved.values_list("device_id", flat=True)) == sorted([device.pk, other.pk])
    assert list(saved.values_list("payload", flat=True)) == [{}, {}]


def test_the_schema_says_which_kinds_may_leave_the_payload_out():
    component = api_schema()["components"]["schemas"]["OperationCreateRequest"]
    assert "payload" in component["properties"]
    assert "payload" not in component.get("required", [])
    assert "currentstate" in component["properties"]["payload"]["description"]


def test_create_for_every_device_of_a_fleet(device, owner, django_capture_on_commit_callbacks):
    from server.apps.fleet.tests.factories import make_fleet

    other, outside = make_device(device.project), make_device(device.project)
    fleet = make_fleet(device.org, devices=[device, other])
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).post(
            OPERATIONS,
            {"fleet": fleet.slug, "kind": "command", "payload": {"command": "get_app_status()"}},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 2
    saved = DeviceOperation.objects.filter(batch=response.json()["batch"])
    assert sorted(saved.values_list("device_id", flat=True)) == sorted([device.pk, other.pk])
    assert not DeviceOperation.objects.filter(device=outside).exists()
    empty = make_fleet(device.org)
    response = api_client(owner).post(
        OPERATIONS, {"fleet": empty.slug, "kind": "command", "payload": "get_app_status()"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert (
        api_client(member_without_operate(device.org))
        .post(OPERATIONS, {"fleet": fleet.slug, "kind": "command", "payload": "get_app_status()"}, format="json")
        .status_code
        == 403
    )
    assert DeviceOperation.objects.count() == 2


def test_another_org_s_device_project_or_fleet_is_404(device):
    from server.apps.fleet.tests.factories import make_fleet

    outsider = make_device(make_project())
    client = api_client(device.org.created_by)
    theirs = make_fleet(outsider.org, devices=[outsider])
    for body in ({"device": outsider.slug}, {"project": outsider.project.slug}, {"fleet": theirs.slug}):
        response = client.post(OPERATIONS, {**body, "kind": "command", "payload": "get_app_status()"}, format="json")
        assert response.status_code == 404, response.content
    assert not DeviceOperation.objects.exists()


def test_cancel(device, owner):
    operation = make_operation(device)
    client = api_client(owner)
    response = client.post(f"{OPERATIONS}{operation.id}/cancel/")
    assert response.status_code == 200, response.content
    operation.refresh_from_db()
    assert operation.status == OperationStatus.CANCELED
    assert operation.closed_on is not None
    assert [entry["step"] for entry in operation.history] == ["created", "canceled"]
    assert client.post(f"{OPERATIONS}{operation.id}/cancel/").status_code == 409
    # Another organisation's owner cannot see it, and a member without can_operate_devices may not cancel.
    other = make_operation(device)
    assert (
        api_client(make_device(make_project()).org.created_by).post(f"{OPERATIONS}{other.id}/cancel/").status_code
        == 404
    )
    assert api_client(member_without_operate(device.org)).post(f"{OPERATIONS}{other.id}/cancel/").status_code == 403
    assert DeviceOperation.objects.get(pk=other.pk).status == OperationStatus.PENDING


def test_a_device_polls_and_answers_over_http(device):
    first = make_operation(device, payload={"command": "get_app_status()"})
    second = make_operation(device, payload={"command": "stop_app('x')"})
    other_device = make_device(device.project)
    theirs = make_operation(other_device)
    client = device_client(device)
    response = client.get(POLL)
    assert response.status_code == 200, response.content
    requests = response.json()
    assert [r["operationId"] for r in requests] == [str(first.id), str(second.id)]
    assert requests[0]["type"] == "REQ"
    assert requests[0]["value"]["command"] == "get_app_status()"
    assert client.get(POLL).json() == []  # handed over once
    assert DeviceOperation.objects.get(pk=first.pk).status == OperationStatus.SENT

    replies = [
        {"operationId": str(first.id), "type": "RESP", "status": "SUCCESS", "value": {"apps": 3}},
        {"operationId": str(second.id), "type": "RESP", "status": "FAIL", "error": "no such app"},
        {"operationId": str(first.id), "type": "RESP", "status": "FAIL"},  # a duplicate
        {"operationId": str(uuid.uuid4()), "type": "RESP", "status": "SUCCESS"},  # unknown
        {"operationId": str(theirs.id), "type": "RESP", "status": "SUCCESS"},  # another device's
        {"operationId": "not-a-uuid", "type": "RESP", "status": "SUCCESS"},
    ]
    response = client.post(REPLY, replies, format="json")
    assert response.status_code == 200, response.content
    assert [r["outcome"] for r in response.json()] == [
        "recorded",
        "recorded",
        "duplicate",
        "unknown",
        "unknown",
        "unknown",
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.result) == (OperationStatus.SUCCEEDED, {"apps": 3})
    assert (second.status, second.error) == (OperationStatus.FAILED, "no such app")
    assert DeviceOperation.objects.get(pk=theirs.pk).status == OperationStatus.PENDING
    assert [entry["step"] for entry in first.history] == ["created", "sent", "replied"]


def test_device_endpoints_need_the_device_s_own_token(device, owner):
    assert api_client(owner).get(POLL).status_code == 403
    assert api_client(owner).post(REPLY, {"operationId": "x", "status": "SUCCESS"}, format="json").status_code == 403
    # And a device token reaches no user endpoint's operations.
    operation = make_operation(device)
    client = device_client(device)
    assert client.get(f"{OPERATIONS}{operation.id}/").status_code == 404
    assert client.post(f"{OPERATIONS}{operation.id}/cancel/").status_code == 404
    response = client.post(OPERATIONS, {"device": device.slug, "kind": "command", "payload": "x()"}, format="json")
    assert response.status_code == 403
    assert DeviceOperation.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"status": "SUCCESS"},
        {"operationId": "x"},
        {"operationId": "x", "status": "SUCCESS", "type": "REQ"},
        [{"operationId": "x", "status": "SUCCESS"}] * 101,
        "not json",
    ],
)
def test_malformed_replies_are_400(device, body):
    operation = make_operation(device)
    response = device_client(device).post(REPLY, body, format="json")
    assert response.status_code == 400, response.content
    assert DeviceOperation.objects.get(pk=operation.pk).status == OperationStatus.PENDING


def test_poll_query_count_does_not_grow(device):
    for _ in range(5):
        make_operation(device)
    client = device_client(device)
    # the token (its key, device and user in one query: deviceauth), device; presence (lock, upsert, the health
    # turned OK: health/services.py), configuration on connect (device, supersede, insert and its audit entry, the
    # queue message written in the poll's own transaction: worker/queue.py); the operations (lock, mark sent);
    # savepoints
    with assert_query_count(17):
        assert len(client.get(POLL).json()) == 5
