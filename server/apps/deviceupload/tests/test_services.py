"""Upload schedules: a due schedule makes its upload operations once, whatever runs it twice (a retry after a crash,
two workers at once), each carrying the window since the previous run and the file filter."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connections
from django.utils import timezone

from server.apps.core.errors import ApplicationError
from server.apps.device.tests.factories import make_device, make_project
from server.apps.deviceupload import services
from server.apps.deviceupload.jobs import RunUploadSchedules
from server.apps.deviceupload.models import UploadSchedule
from server.apps.deviceupload.services import upload_schedules_run
from server.apps.deviceupload.tests.factories import make_schedule
from server.apps.fleet.tests.factories import make_fleet
from server.apps.operation.models import DeviceOperation
from server.apps.operation.wire import epoch_ms
from server.apps.worker.models import QueueMessage


@pytest.fixture
def device(db):
    return make_device(make_project())


def test_a_due_schedule_asks_once_per_period_with_its_window(device):
    schedule = make_schedule(device=device, every_hours=6, files="logs/*.log")
    start = schedule.next_run
    assert upload_schedules_run(now=start) == 1
    assert upload_schedules_run(now=start) == 0  # the same run again: nothing more
    assert upload_schedules_run(now=start + timedelta(hours=5)) == 0
    trigger = DeviceOperation.objects.get(kind="upload")
    assert trigger.device_id == device.pk
    assert trigger.payload == {
        "options": {"info.schedule": str(schedule.pk), "files": "logs/*.log"},
        "from": epoch_ms(start - timedelta(hours=6)),
        "to": epoch_ms(start),
    }
    schedule.refresh_from_db()
    assert (schedule.last_run, schedule.next_run, schedule.last_count) == (start, start + timedelta(hours=6), 1)
    # The next period's window starts where the last one ended.
    later = start + timedelta(hours=6, minutes=1)
    assert upload_schedules_run(now=later) == 1
    second = DeviceOperation.objects.filter(kind="upload").order_by("-created_on").first()
    assert (second.payload["from"], second.payload["to"]) == (epoch_ms(start), epoch_ms(later))
    # A worker that was away for days asks once, not once per missed period.
    assert upload_schedules_run(now=later + timedelta(days=3)) == 1
    schedule.refresh_from_db()
    assert schedule.next_run > later + timedelta(days=3)
    assert DeviceOperation.objects.filter(kind="upload").count() == 3


def test_a_crash_mid_run_then_a_retry_makes_exactly_one(device):
    schedule = make_schedule(device=device)
    with (
        mock.patch.object(UploadSchedule, "save", side_effect=RuntimeError("worker killed")),
        pytest.raises(RuntimeError),
    ):
        upload_schedules_run(now=schedule.next_run)
    assert not DeviceOperation.objects.exists()  # rolled back with the schedule
    assert not QueueMessage.objects.filter(action="SendOperations").exists()
    assert upload_schedules_run(now=schedule.next_run) == 1
    assert upload_schedules_run(now=schedule.next_run) == 0
    assert DeviceOperation.objects.filter(kind="upload").count() == 1


def test_the_job_run_twice_makes_one(device):
    make_schedule(device=device)
    RunUploadSchedules().execute({})
    RunUploadSchedules().execute({})
    assert DeviceOperation.objects.filter(kind="upload").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one():
    device = make_device(make_project())
    schedule = make_schedule(device=device)
    barrier = threading.Barrier(3)
    made: list[int] = []

    def run():
        try:
            barrier.wait()
            made.append(upload_schedules_run(now=schedule.next_run))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(made) == [0, 0, 1]
    assert DeviceOperation.objects.filter(kind="upload").count() == 1


def test_a_fleet_schedule_asks_each_current_member(device):
    other = make_device(device.project)
    fleet = make_fleet(device.org, devices=[device, other])
    schedule = make_schedule(fleet=fleet)
    assert upload_schedules_run(now=schedule.next_run) == 2
    operations = DeviceOperation.objects.filter(kind="upload")
    assert {op.device_id for op in operations} == {device.pk, other.pk}
    assert len({op.batch for op in operations}) == 1


def test_a_run_that_cannot_ask_records_why_and_moves_on(device):
    fleet = make_fleet(device.org)  # no members
    empty = make_schedule(fleet=fleet)
    fine = make_schedule(device=device)
    assert upload_schedules_run(now=max(empty.next_run, fine.next_run)) == 1
    empty.refresh_from_db()
    assert empty.last_error == "No device to send it to."
    assert empty.next_run > empty.last_run
    # A disabled schedule is never due.
    UploadSchedule.objects.filter(pk=fine.pk).update(enabled=False, next_run=timezone.now() - timedelta(days=1))
    assert upload_schedules_run() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"every_hours": 0}, "every_hours"), ({"every_hours": 10_000}, "every_hours"), ({"files": "a\nb"}, "files")],
)
def test_bad_schedules_are_refused(device, fields, field):
    with pytest.raises(ApplicationError) as error:
        services.upload_schedule_create(
            user=device.org.created_by, device=device, **{"every_hours": 1, "files": "", **fields}
        )
    assert field in error.value.extra
    assert not UploadSchedule.objects.exists()
