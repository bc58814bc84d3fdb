"""Version streams during ingest: a report with 0x5c08/0x5c09 readings updates the device's versions through the
``DeviceVersionsUpdate`` action, which confirms the deployments the new version shows, also after a crash and a
retry."""

from __future__ import annotations

import datetime

import pytest
from django.db.models.functions import Now

from server.apps.device.tests.factories import make_device
from server.apps.fleet.tests.factories import make_fleet
from server.apps.ota.models import DeploymentAction, DeviceVersionAttribute
from server.apps.ota.services import VersionReading, deployment_action_record, device_versions_update
from server.apps.ota.tests.factories import APP_TAG, make_deployment, make_script
from server.apps.ota.tests.virtual_device import version_info
from server.apps.streamer.services import processing
from server.apps.streamer.tests.factories import make_ingest, process, signed_report, upload
from server.apps.worker.models import DeadLetter, QueueMessage

OS_TAG = 1024
T0 = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


def _versions(device) -> dict:
    return {
        v.type: (v.tag, v.version, v.streamer_local_id) for v in DeviceVersionAttribute.objects.filter(device=device)
    }


def _reading(stream, tag, version, reading_id, minutes=0) -> VersionReading:
    return VersionReading(stream, version_info(tag, version), reading_id, T0 + datetime.timedelta(minutes=minutes))


@pytest.fixture
def ingest(db, folder_stores):
    return make_ingest()


def test_a_report_with_version_readings_updates_the_device(ingest):
    rows = [
        (10, 0x5001, 7, 1),
        (10, 0x5C08, version_info(OS_TAG, "1.3"), 2),
        (20, 0x5C09, version_info(APP_TAG, "2.0"), 3),
        (30, 0x5C09, version_info(APP_TAG, "2.1"), 4),
    ]
    assert upload(ingest.client, signed_report(ingest.device.id, rows, report_id=5)).status_code == 201
    assert process().succeeded == 2
    assert _versions(ingest.device) == {"os": (OS_TAG, "1.3", 2), "app": (APP_TAG, "2.1", 4)}


def test_a_report_without_version_readings_enqueues_nothing_more(ingest):
    assert upload(ingest.client, signed_report(ingest.device.id, [(10, 0x5001, 7, 1)], report_id=2)).status_code == 201
    assert process().succeeded == 1
    assert not DeviceVersionAttribute.objects.exists()


def test_a_crash_between_enqueue_and_acknowledgement_is_retried_to_the_same_state(ingest, monkeypatch):
    device = ingest.device
    fleet = make_fleet(ingest.org, devices=[device])
    deployment = make_deployment(make_script(ingest.org), fleet, side_effect={"app_tag": APP_TAG, "app_version": "2.1"})
    acknowledge = processing._acknowledge
    calls = []

    def crash_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("the database went away")
        return acknowledge(**kwargs)

    monkeypatch.setattr(processing, "_acknowledge", crash_once)
    rows = [(10, 0x5C09, version_info(APP_TAG, "2.1"), 1)]
    assert upload(ingest.client, signed_report(device.id, rows, report_id=2)).status_code == 201
    first = process()
    assert (first.succeeded, first.retried) == (1, 1)  # the versions ran; the report waits for its retry
    QueueMessage.objects.update(available_at=Now())
    assert process().succeeded == 2  # the report, and its versions once more
    assert not DeadLetter.objects.exists()
    assert _versions(device) == {"app": (APP_TAG, "2.1", 1)}
    action = DeploymentAction.objects.get()
    assert (action.deployment_id, action.device_confirmation, action.attempts) == (deployment.id, True, 0)
    assert action.log.count("confirmed") == 1


def test_older_readings_change_nothing_and_reruns_are_harmless(db):
    device = make_device()
    newer = _reading(0x5C09, APP_TAG, "2.1", 9, minutes=5)
    assert len(device_versions_update(device_id=device.id, readings=[newer])) == 1
    older = _reading(0x5C09, APP_TAG, "2.0", 3)
    assert device_versions_update(device_id=device.id, readings=[older, newer]) == []
    assert _versions(device) == {"app": (APP_TAG, "2.1", 9)}
    assert device_versions_update(device_id=device.id + 1, readings=[newer]) == []  # no such device


def test_a_deployment_completes_once_every_device_it_is_for_confirmed(ingest):
    org = ingest.org
    first, second, excluded = ingest.device, make_device(ingest.project), make_device(ingest.project)
    fleet = make_fleet(org, devices=[first, second, excluded])
    deployment = make_deployment(
        make_script(org),
        fleet,
        selection_criteria=[f"os_tag:eq:{OS_TAG}"],
        side_effect={"app_tag": APP_TAG, "app_version": "2.1"},
    )
    # This one runs another OS: the deployment is not for it, so nobody waits for it.
    device_versions_update(device_id=excluded.id, readings=[_reading(0x5C08, OS_TAG + 1, "1.0", 1)])
    # An older app version confirms nothing.
    device_versions_update(device_id=first.id, readings=[_reading(0x5C09, APP_TAG, "2.0", 1)])
    assert not DeploymentAction.objects.filter(device_confirmation=True).exists()

    deployment_action_record(deployment=deployment, device=first, attempt_successful=True)
    device_versions_update(device_id=first.id, readings=[_reading(0x5C09, APP_TAG, "2.1", 2, minutes=1)])
    deployment.refresh_from_db()
    assert deployment.completed_on is None
    device_versions_update(device_id=second.id, readings=[_reading(0x5C09, APP_TAG, "2.2", 1)])
    deployment.refresh_from_db()
    assert deployment.completed_on is not None
    confirmed = DeploymentAction.objects.filter(deployment=deployment, device_confirmation=True)
    assert sorted(confirmed.values_list("device_id", "attempts")) == sorted([(first.id, 1), (second.id, 0)])
