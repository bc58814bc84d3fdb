from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from server.apps.device.tests.factories import make_device, make_project
from server.apps.health.models import DeviceHealth, HealthStatus
from server.apps.health.services import device_health_check, device_health_heard
from server.apps.operation.models import DevicePresence, Transport
from server.apps.operation.services.inbound import devices_seen
from server.apps.telemetry.models import PhysicalDevice
from server.apps.worker.scheduler import periodic_jobs


def test_a_device_going_quiet_changes_once_and_sends_one_email(db, django_capture_on_commit_callbacks):
    project = make_project()
    device = make_device(project)
    DeviceHealth.objects.create(device=device, period=timedelta(hours=1), recipients="ops@example.com\n")
    now = timezone.now()
    DevicePresence.objects.create(device=device, last_seen=now - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert device_health_check(now=now) == 1
    assert DeviceHealth.objects.get(pk=device.pk).status == HealthStatus.OK
    mail.outbox.clear()
    later = now + timedelta(hours=2)
    for _ in range(2):  # the job runs twice: one change, one e-mail
        with django_capture_on_commit_callbacks(execute=True):
            device_health_check(now=later)
    health = DeviceHealth.objects.get(pk=device.pk)
    assert (health.status, health.changed_on) == (HealthStatus.FAIL, later)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert device.slug in mail.outbox[0].subject


def test_a_device_heard_only_through_telemetry_is_ok_then_fails_once(db, django_capture_on_commit_callbacks):
    """A telemetry message moves the physical device's last_seen, not the presence row: the check reads both."""
    project = make_project()
    device = make_device(project)
    DeviceHealth.objects.create(device=device, period=timedelta(minutes=5), recipients="ops@example.com\n")
    now = timezone.now()
    PhysicalDevice.objects.create(
        device=device, org=project.org, source_name="http", last_seen=now - timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert device_health_check(now=now) == 1
    assert DeviceHealth.objects.get(pk=device.pk).status == HealthStatus.OK
    later = now + timedelta(minutes=10)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            device_health_check(now=later)
    health = DeviceHealth.objects.get(pk=device.pk)
    assert (health.status, health.changed_on) == (HealthStatus.FAIL, later)
    assert [message.subject for message in mail.outbox] == [
        f"Device {device.slug} is now {HealthStatus.OK.label}",
        f"Device {device.slug} is now {HealthStatus.FAIL.label}",
    ]


def test_a_device_never_heard_from_is_unknown_and_the_project_page_counts(db):
    project = make_project()
    device = make_device(project)
    assert device_health_check() == 0  # watched from the first run on, unknown until heard from
    assert DeviceHealth.objects.get(device=device).status == HealthStatus.UNK
    client = Client()
    client.force_login(project.org.created_by)
    response = client.get(f"/org/{project.org.slug}/project/{project.id}/")
    assert response.context["health_counts"] == {"OK": 0, "FAIL": 0, "UNK": 1}
    assert "DeviceHealthCheck" in periodic_jobs


def test_a_short_period_device_turns_ok_when_heard_and_fails_once_after_silence(db, django_capture_on_commit_callbacks):
    """A device expected every minute: OK as soon as it is heard from (not at the next check), FAIL at the first
    check after a minute of silence; one e-mail for each change, however often the check runs."""
    device = make_device(make_project())
    DeviceHealth.objects.create(device=device, period=timedelta(minutes=1), recipients="ops@example.com")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert device_health_check(now=now) == 0  # never heard from: unknown, as it was
    with django_capture_on_commit_callbacks(execute=True):
        devices_seen(seen=[(device.pk, now)], transport=Transport.HTTP)  # a report processed, a message read
    health = DeviceHealth.objects.get(pk=device.pk)
    assert (health.status, health.changed_on) == (HealthStatus.OK, now)
    assert [message.subject for message in mail.outbox] == [f"Device {device.slug} is now OK"]
    assert "from UNK to OK" in mail.outbox[0].body
    # Heard again while OK: nothing written, nothing sent; the checks within the minute keep it OK.
    with django_capture_on_commit_callbacks(execute=True):
        devices_seen(seen=[(device.pk, now + timedelta(seconds=30))], transport=Transport.HTTP)
        assert device_health_check(now=now + timedelta(seconds=50)) == 0
        assert device_health_check(now=now + timedelta(seconds=90)) == 0
    assert DeviceHealth.objects.get(pk=device.pk).changed_on == now
    assert len(mail.outbox) == 1
    silent = now + timedelta(seconds=30 + 61)
    for _ in range(3):  # the check every minute, and once more at the same time
        with django_capture_on_commit_callbacks(execute=True):
            device_health_check(now=silent)
    health = DeviceHealth.objects.get(pk=device.pk)
    assert (health.status, health.changed_on) == (HealthStatus.FAIL, silent)
    assert [message.subject for message in mail.outbox][1:] == [f"Device {device.slug} is now Failing"]
    # Heard from again: OK at once, one more e-mail.
    back = silent + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        devices_seen(seen=[(device.pk, back)], transport=Transport.HTTP)
        assert device_health_check(now=back + timedelta(seconds=10)) == 0
    assert DeviceHealth.objects.get(pk=device.pk).status == HealthStatus.OK
    assert len(mail.outbox) == 3
    assert "from FAIL to OK" in mail.outbox[2].body


def test_being_heard_costs_one_statement_and_writes_only_a_change(db, django_assert_num_queries):
    devices = [make_device(make_project()) for _ in range(3)]
    for device in devices:
        DeviceHealth.objects.create(device=device, period=timedelta(minutes=1))
    now = timezone.now()
    DeviceHealth.objects.filter(pk=devices[0].pk).update(status=HealthStatus.OK, changed_on=now)
    with django_assert_num_queries(1):
        # Already OK, not watched yet, heard too long ago for its period: none of them changes.
        assert (
            device_health_heard(heard={devices[0].pk: now, 999_999: now, devices[1].pk: now - timedelta(hours=1)}) == 0
        )
    with django_assert_num_queries(1):
        assert device_health_heard(heard={device.pk: now for device in devices}) == 2
    assert set(DeviceHealth.objects.values_list("status", flat=True)) == {HealthStatus.OK}
    assert DeviceHealth.objects.get(pk=devices[0].pk).changed_on == now


@pytest.mark.parametrize("devices", [1, 5])
def test_the_check_costs_the_same_statements_whatever_the_number_of_devices(db, devices, django_assert_num_queries):
    """It runs every minute: the watch insert, one read of the rows that change, one write of them (and, inside the
    test's transaction, a savepoint and its release)."""
    now = timezone.now()
    project = make_project()
    watched = [make_device(project) for _ in range(devices)]
    assert device_health_check(now=now) == 0  # rows made, all unknown
    with django_assert_num_queries(2 + 2):  # nothing changed: nothing written
        assert device_health_check(now=now) == 0
    DevicePresence.objects.bulk_create([DevicePresence(device=device, last_seen=now) for device in watched])
    with django_assert_num_queries(3 + 2):
        assert device_health_check(now=now) == devices
    with django_assert_num_queries(3 + 2):
        assert device_health_check(now=now + timedelta(hours=2)) == devices
    assert set(DeviceHealth.objects.values_list("status", flat=True)) == {HealthStatus.FAIL}
    assert periodic_jobs["DeviceHealthCheck"].interval == timedelta(minutes=1)
