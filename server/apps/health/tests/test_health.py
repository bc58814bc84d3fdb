from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.test import Client
from django.utils import timezone

from server.apps.device.tests.factories import make_device, make_project
from server.apps.health.models import DeviceHealth, HealthStatus
from server.apps.health.services import device_health_check
from server.apps.operation.models import DevicePresence
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
