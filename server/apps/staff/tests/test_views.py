"""Staff pages: only staff find them; the worker's queue, run log and dead letters; every organisation and device;
batch creation of devices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import OWNER
from server.apps.sensorgraph.services import sensorgraph_create
from server.apps.worker.models import DeadLetter, QueueMessage, WorkerRun

STAFF_PAGES = ["home", "runs", "dead-letters", "orgs", "devices"]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(db):
    return make_user(is_staff=True)


def add_run(action: str = "ProcessReport", status: str = "success", minutes_ago: int = 1) -> WorkerRun:
    return WorkerRun.objects.create(
        action=action, status=status, started_at=timezone.now() - timedelta(minutes=minutes_ago), duration=0.25
    )


def add_dead_letter(action: str = "no.SuchAction") -> DeadLetter:
    return DeadLetter.objects.create(action=action, arguments={"x": 1}, error="it keeps failing")


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_everyone_but_staff_gets_404(db, page):
    url = reverse(f"staff:{page}")
    owner = make_user()
    make_org(owner=owner)
    assert Client().get(url).status_code == 404
    assert logged_in(owner).get(url).status_code == 404
    assert logged_in(make_member(make_org(), OWNER)).get(url).status_code == 404


def test_writes_are_404_for_everyone_but_staff(db):
    letter = add_dead_letter()
    owner = make_user()
    assert logged_in(owner).post(reverse("staff:dead-letter-requeue", kwargs={"pk": letter.pk})).status_code == 404
    assert logged_in(owner).post(reverse("staff:device-batch"), {"count": 3}).status_code == 404
    assert not Device.objects.exists()


def test_overview_shows_the_queue_and_the_last_day(staff):
    QueueMessage.objects.create(action="ProcessReport", arguments={})
    add_run(status="success")
    add_run(status="retry")
    add_run(status="dead")
    add_run(status="success", minutes_ago=60 * 48)
    add_dead_letter()
    response = logged_in(staff).get(reverse("staff:home"))
    assert response.status_code == 200
    context = response.context
    assert context["depth"].total == 1
    assert (context["runs_last_day"], context["runs_ok"], context["runs_retried"], context["runs_failed"]) == (
        3,
        1,
        1,
        1,
    )
    assert context["dead_letter_count"] == 1
    assert "ProcessReport" in response.content.decode()


def test_run_log_filters_and_pages(staff):
    for number in range(30):
        add_run(status="success" if number % 3 else "retry", minutes_ago=number)
    add_run(action="DeviceHealthCheck")
    client = logged_in(staff)
    response = client.get(reverse("staff:runs"))
    assert response.context["runs"].paginator.count == 31
    assert len(response.context["runs"]) == 25
    retried = client.get(reverse("staff:runs"), {"status": "retry"})
    assert retried.context["runs"].paginator.count == 10
    by_action = client.get(reverse("staff:runs"), {"action": "DeviceHealthCheck"})
    assert [run.action for run in by_action.context["runs"]] == ["DeviceHealthCheck"]
    assert client.get(reverse("staff:runs"), {"status": "bogus"}).status_code == 200


@pytest.mark.parametrize("rows", [1, 6])
def test_run_log_query_count_is_constant(staff, rows):
    for number in range(rows):
        add_run(minutes_ago=number)
    client = logged_in(staff)
    # session, user, runs (count, page), the actions for the filter
    with assert_query_count(5):
        client.get(reverse("staff:runs"))


def test_requeueing_a_dead_letter(staff):
    letter = add_dead_letter(action="ProcessReport")
    letter.arguments = {"report_id": "00000000-0000-0000-0000-000000000001"}
    letter.save()
    client = logged_in(staff)
    response = client.post(reverse("staff:dead-letter-requeue", kwargs={"pk": letter.pk}), follow=True)
    assert "requeued as message" in response.content.decode()
    letter.refresh_from_db()
    assert letter.requeued_at is not None
    assert QueueMessage.objects.filter(action="ProcessReport").count() == 1
    assert client.get(reverse("staff:dead-letters")).context["letters"].paginator.count == 0
    assert client.get(reverse("staff:dead-letters"), {"all": "1"}).context["letters"].paginator.count == 1

    again = client.post(reverse("staff:dead-letter-requeue", kwargs={"pk": letter.pk}), follow=True)
    assert "already requeued" in again.content.decode()
    assert QueueMessage.objects.count() == 1


def test_a_dead_letter_of_an_unknown_action_is_not_requeued(staff):
    letter = add_dead_letter(action="no.SuchAction")
    response = logged_in(staff).post(reverse("staff:dead-letter-requeue", kwargs={"pk": letter.pk}), follow=True)
    assert "no action is registered" in response.content.decode()
    assert not QueueMessage.objects.exists()
    assert logged_in(staff).post(reverse("staff:dead-letter-requeue", kwargs={"pk": 999999})).status_code == 404


@pytest.mark.parametrize("rows", [1, 6])
def test_every_org_with_search(staff, rows):
    for number in range(rows):
        make_org(name=f"Water {number}")
    make_org(name="Gas Works")
    client = logged_in(staff)
    # session, user, organisations (count, page)
    with assert_query_count(4):
        response = client.get(reverse("staff:orgs"))
    assert response.context["orgs"].paginator.count == rows + 1
    found = client.get(reverse("staff:orgs"), {"q": "gas"})
    assert [org.name for org in found.context["orgs"]] == ["Gas Works"]


@pytest.mark.parametrize("rows", [1, 6])
def test_every_device_with_search(staff, rows):
    project = make_project()
    for number in range(rows):
        make_device(project if number % 2 else None, label=f"Pump {number}")
    client = logged_in(staff)
    # session, user, devices with organisation, project, sensor graph and last report (count, page); the batch
    # form's sensor graphs and templates
    with assert_query_count(6):
        response = client.get(reverse("staff:devices"))
    assert response.context["devices"].paginator.count == rows
    target = Device.objects.order_by("id").first()
    by_slug = client.get(reverse("staff:devices"), {"q": f"d--{target.id:x}"})
    assert [device.pk for device in by_slug.context["devices"]] == [target.pk]
    by_label = client.get(reverse("staff:devices"), {"q": "pump 0"})
    assert [device.label for device in by_label.context["devices"]] == ["Pump 0"]


def test_creating_devices_in_a_batch(staff):
    sg = sensorgraph_create(created_by=staff, name="Water meter", major_version=1)
    response = logged_in(staff).post(
        reverse("staff:device-batch"), {"count": 3, "label_prefix": "Meter", "sg": sg.slug}
    )
    assert response.status_code == 200
    devices = list(Device.objects.order_by("id"))
    assert [d.label for d in devices] == ["Meter 1", "Meter 2", "Meter 3"]
    assert all(d.sg == sg and d.project is None and d.created_by == staff for d in devices)
    body = response.content.decode()
    assert all(d.slug in body for d in devices)


@pytest.mark.parametrize("data", [{"count": 0}, {"count": 501}, {"count": 2, "sg": "no-such-graph"}, {}])
def test_batch_errors_show_on_the_form_and_create_nothing(staff, data):
    response = logged_in(staff).post(reverse("staff:device-batch"), data)
    assert response.status_code == 200
    assert response.context["batch_form"].errors
    assert not Device.objects.exists()


def test_batch_labels_share_one_width(staff):
    from server.apps.staff.services import devices_create_batch

    devices = devices_create_batch(created_by=staff, count=10, label_prefix=" Pump ")
    assert [devices[0].label, devices[9].label] == ["Pump 01", "Pump 10"]
    assert len({device.slug for device in devices}) == 10


@pytest.mark.parametrize("rows", [1, 6])
def test_dead_letter_query_count_is_constant(staff, rows):
    for _ in range(rows):
        add_dead_letter()
    client = logged_in(staff)
    # session, user, dead letters (count, page)
    with assert_query_count(4):
        response = client.get(reverse("staff:dead-letters"))
    assert response.context["letters"].paginator.count == rows


# A device's keys -----------------------------------------------------------------------------------------------------


def test_the_keys_page_sets_rotates_and_revokes(staff):
    from server.apps.deviceauth.models import DeviceKey, DeviceKeyType

    device = make_device(make_project())
    client = logged_in(staff)
    url = reverse("staff:device-keys", kwargs={"device_slug": device.slug})
    assert client.get(url).status_code == 200

    response = client.post(url, {"type": "mqtt", "secret": "", "downloadable": "on"})
    assert response.status_code == 200
    key = DeviceKey.objects.get(device=device, type=DeviceKeyType.MQTT)
    assert (key.downloadable, key.created_by) == (True, staff)
    assert response.context["revealed"].secret == key.secret
    assert key.secret.encode() in response.content

    old_secret = key.secret
    rotate = reverse(
        "staff:device-key-operation", kwargs={"device_slug": device.slug, "key_name": "mqtt", "operation": "rotate"}
    )
    assert client.post(rotate).status_code == 200
    key.refresh_from_db()
    assert key.secret != old_secret
    assert key.downloadable

    bad = client.post(url, {"type": "dev", "secret": "short"})
    assert bad.context["key_form"].errors["secret"]
    assert not DeviceKey.objects.filter(device=device, type=DeviceKeyType.DEVICE).exists()

    revoke = reverse(
        "staff:device-key-operation", kwargs={"device_slug": device.slug, "key_name": "mqtt", "operation": "revoke"}
    )
    assert client.post(revoke)["Location"] == url
    assert not DeviceKey.objects.filter(device=device).exists()
    assert client.post(revoke).status_code == 302  # nothing to revoke: said on the page, nothing else happens


def test_the_keys_page_is_staff_only(db):
    device = make_device(make_project())
    owner = device.org.created_by
    url = reverse("staff:device-keys", kwargs={"device_slug": device.slug})
    assert logged_in(owner).get(url).status_code == 404
    assert logged_in(owner).post(url, {"type": "mqtt"}).status_code == 404
    assert not device.keys.exists()
    assert logged_in(make_user(is_staff=True)).get(url.replace(device.slug, "d--zz")).status_code == 404
