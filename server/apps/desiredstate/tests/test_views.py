"""The desired-state pages: a rollout's campaign page with its status JSON and cancel, and the device tab (the
latest feedback, the inventory and how it differs from the desired state)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.desiredstate.models import DeviceCurrentState
from server.apps.desiredstate.services import feedback_messages_process
from server.apps.desiredstate.tabs import DESIRED_STATE_TAB
from server.apps.desiredstate.tests.factories import feedback, make_desired_state, topic_message
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.fleet.tests.factories import make_fleet, ota_manager
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.services.operations import operations_mark_sent
from server.apps.org.roles import OPERATOR, OWNER

FEEDBACK = "update/desiredstatefeedback"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rollout_url(desired, name: str = "campaign", org=None) -> str:
    return reverse(
        f"desiredstate:{name}", kwargs={"org_slug": (org or desired.org).slug, "desired_state_id": desired.pk}
    )


@pytest.fixture
def org(db):
    return make_org()


def _rollout(org, devices: int = 4):
    """A rollout to a fleet of ``devices``: the first completed, the second running, the third failed, the rest
    pending."""
    project = make_project(org)
    members = [make_device(project, label=f"Pump {i}") for i in range(devices)]
    desired = make_desired_state(fleet=make_fleet(org, "Pumps", devices=members))
    operations = {op.device_id: op for op in DeviceOperation.objects.filter(batch=desired.batch)}
    operations_mark_sent(operation_ids=[operations[member.pk].id for member in members[:3]])
    statuses = ["COMPLETED", "RUNNING", "INCOMPLETE"]
    messages = [
        topic_message(member, FEEDBACK, feedback(operations[member.pk].id, status, message=f"{status.lower()} here"))
        for member, status in zip(members, statuses, strict=False)
    ]
    feedback_messages_process(messages=messages)
    return desired, members


def test_rollout_page_counts_states_and_messages(org):
    desired, members = _rollout(org)
    client = logged_in(make_member(org, OPERATOR))
    page = client.get(rollout_url(desired))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Pump 2" in text
    assert "incomplete here" in text
    assert "cancel-form" not in text  # an operator may not cancel
    status = client.get(rollout_url(desired, "campaign-status")).json()
    counts = {entry["state"]: entry["count"] for entry in status["counts"]}
    assert (counts["completed"], counts["running"], counts["failed"], counts["pending"]) == (1, 1, 1, 1)
    assert (status["status"], status["done"], status["progress"]) == ("Running", False, 25.0)
    rows = {row["device"]: row for row in status["devices"]}
    assert rows[members[1].slug]["feedback"] == "RUNNING"
    assert rows[members[2].slug]["message"] == "incomplete here"


@pytest.mark.parametrize("devices", [1, 6])
def test_rollout_status_queries_do_not_grow(org, devices):
    desired, _members = _rollout(org, devices)
    client = logged_in(org.created_by)
    url = rollout_url(desired, "campaign-status")
    with assert_query_count(4):  # session, user, the rollout, its operations
        assert client.get(url).status_code == 200


def test_cancel_from_the_rollout_page(org):
    desired, members = _rollout(org)
    assert logged_in(make_member(org, OWNER)).post(rollout_url(desired, "cancel")).status_code == 403
    client = logged_in(ota_manager(org))
    assert "cancel-form" in client.get(rollout_url(desired)).content.decode()
    assert client.post(rollout_url(desired, "cancel")).status_code == 302
    statuses = dict(DeviceOperation.objects.filter(batch=desired.batch).values_list("device_id", "status"))
    assert [statuses[member.pk] for member in members] == ["SUCCEEDED", "CANCELED", "FAILED", "CANCELED"]
    status = client.get(rollout_url(desired, "campaign-status")).json()
    assert (status["status"], status["done"]) == ("Canceled", True)


def test_another_orgs_rollouts_are_404(org):
    desired, _members = _rollout(org, 1)
    outsider = make_org()
    client = logged_in(outsider.created_by)
    for name in ("campaign", "campaign-status"):
        assert client.get(rollout_url(desired, name)).status_code == 404
        assert client.get(rollout_url(desired, name, org=outsider)).status_code == 404
    assert client.post(rollout_url(desired, "cancel")).status_code == 404
    assert DeviceOperation.objects.filter(status=OperationStatus.CANCELED).count() == 0


def test_the_device_tab_shows_feedback_inventory_and_difference(org):
    device = make_device(make_project(org))
    operation = DeviceOperation.objects.get(batch=make_desired_state(device=device).batch)
    operations_mark_sent(operation_ids=[operation.id])
    body = feedback(operation.id, "RUNNING", [("containers:influxdb", "UPDATING", 60)], message="pulling images")
    feedback_messages_process(messages=[topic_message(device, FEEDBACK, body)])
    DeviceCurrentState.objects.create(
        device=device, org=org, software_nodes=[{"id": "containers:influxdb", "version": "2.7.0", "type": "CONTAINER"}]
    )
    response = logged_in(org.created_by).get(DESIRED_STATE_TAB.url(device))
    text = response.content.decode()
    for shown in ("pulling images", "UPDATING", "60%"):
        assert shown in text
    assert [(row["component"], row["difference"]) for row in response.context["difference"]] == [
        ("containers:influxdb", "other version"),
        ("containers:grafana", "missing"),
    ]


class TestDesiredStateTab(DeviceTabCases):
    tab = DESIRED_STATE_TAB

    def add_rows(self, device, count):
        DeviceCurrentState.objects.create(device=device, org=device.org, software_nodes=[{"id": "c:x", "version": "1"}])
        for _ in range(count):
            make_desired_state(device=device)

    def rows_in(self, response):
        return response.context["sent"].paginator.count


def test_ask_the_device_for_its_inventory(org):
    device = make_device(make_project(org))
    refresh = reverse("desiredstate:refresh", kwargs={"org_slug": org.slug, "device_slug": device.slug})
    owner = logged_in(org.created_by)
    assert 'data-testid="inventory-refresh-form"' in owner.get(DESIRED_STATE_TAB.url(device)).content.decode()
    assert owner.post(refresh).status_code == 302
    operation = DeviceOperation.objects.get(kind="currentstate")
    assert (operation.device_id, operation.payload, operation.status) == (device.pk, {}, OperationStatus.PENDING)
    # An operator may ask (it sends the device an operation); one whose can_operate_devices was taken away may not.
    operator = make_member(org, OPERATOR)
    assert logged_in(operator).post(refresh).status_code == 302
    membership = operator.org_memberships.get()
    membership.permissions["can_operate_devices"] = False
    membership.save(update_fields=["permissions"])
    assert logged_in(operator).post(refresh).status_code == 403
    assert logged_in(make_org().created_by).post(refresh).status_code == 404
    # The operator's request superseded the owner's: one open refresh at a time.
    statuses = (
        DeviceOperation.objects.filter(kind="currentstate").order_by("created_on").values_list("status", flat=True)
    )
    assert list(statuses) == [OperationStatus.SUPERSEDED, OperationStatus.PENDING]
