"""The device page's files tab: the uploads listed with their state, a download once a file arrived, and the button
that asks the device for its files."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import make_member
from server.apps.device.tests.factories import make_device, make_project
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.deviceupload.models import UPLOAD_STORE, UploadSchedule
from server.apps.deviceupload.services import upload_statuses_record
from server.apps.deviceupload.tabs import FILES_TAB
from server.apps.deviceupload.tests.factories import LOG, make_upload
from server.apps.deviceupload.wire import UploadStatus
from server.apps.operation.models import DeviceOperation, Transport
from server.apps.org.roles import OPERATOR
from server.apps.stores.services import store_file_save


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def device(db, folder_stores):
    return make_device(make_project())


def url(device, name: str, **kwargs) -> str:
    return reverse(f"deviceupload:{name}", kwargs={"org_slug": device.org.slug, "device_slug": device.slug, **kwargs})


def test_ask_for_files_then_download_one(device):
    client = logged_in(device.org.created_by)
    assert client.post(url(device, "request")).status_code == 302
    trigger = DeviceOperation.objects.get(kind="upload")
    assert trigger.device_id == device.pk
    upload = make_upload(device, trigger=trigger)
    store_file_save(store=UPLOAD_STORE, key=upload.key, content=LOG)
    status = UploadStatus(upload.correlation_id, "SUCCESS", 100, "", {"state": "SUCCESS"})
    upload_statuses_record(statuses=[(device.pk, status)], transport=Transport.HTTP)
    page = client.get(FILES_TAB.url(device)).content.decode()
    download = url(device, "download", upload_id=upload.id)
    assert download in page
    response = client.get(download)
    assert response.status_code == 302
    assert b"".join(Client().get(response["Location"]).streaming_content) == LOG


def test_an_operator_may_ask_and_strangers_see_nothing(device):
    upload = make_upload(device)
    assert logged_in(make_member(device.org, OPERATOR)).post(url(device, "request")).status_code == 302
    stranger = logged_in(make_device(make_project()).org.created_by)
    assert stranger.get(url(device, "download", upload_id=upload.id)).status_code == 404
    assert stranger.post(url(device, "request")).status_code == 404
    assert DeviceOperation.objects.filter(kind="upload").count() == 2


class TestFilesTab(DeviceTabCases):
    tab = FILES_TAB

    def add_rows(self, device, count):
        for number in range(1, count + 1):
            make_upload(device, number=number, name=f"log{number}.txt")

    def rows_in(self, response):
        return response.context["uploads"].paginator.count


def test_ask_with_a_filter_and_a_window_shown_on_each_file(device):
    client = logged_in(device.org.created_by)
    form = {"file_filter": "*.log", "window_from": "2026-12-01T00:00", "window_to": "2026-12-02T06:30"}
    assert client.post(url(device, "request"), form).status_code == 302
    trigger = DeviceOperation.objects.get(kind="upload")
    assert trigger.payload == {"options": {"files": "*.log"}, "from": 1796083200000, "to": 1796193000000}
    make_upload(device, trigger=trigger)
    page = client.get(FILES_TAB.url(device)).content.decode()
    assert "2026-12-01 00:00 \N{EN DASH} 2026-12-02 06:30" in page


def test_a_window_that_ends_before_it_starts_is_refused(device):
    client = logged_in(device.org.created_by)
    form = {"window_from": "2026-12-02T00:00", "window_to": "2026-12-01T00:00"}
    response = client.post(url(device, "request"), form)
    assert response.status_code == 200  # the tab again, with the form's error
    assert "The upload window starts after it ends." in response.content.decode()
    assert not DeviceOperation.objects.exists()


def test_schedule_then_remove_it(device):
    client = logged_in(device.org.created_by)
    assert client.post(url(device, "schedule"), {"every_hours": "6", "file_filter": "*.log"}).status_code == 302
    schedule = UploadSchedule.objects.get()
    assert (schedule.device_id, schedule.every_hours, schedule.files) == (device.pk, 6, "*.log")
    page = client.get(FILES_TAB.url(device)).content.decode()
    assert f'data-schedule="{schedule.pk}"' in page
    assert client.post(url(device, "schedule"), {"every_hours": "0"}).status_code == 200  # the form's error
    assert UploadSchedule.objects.count() == 1
    operator = logged_in(make_member(device.org, OPERATOR))
    assert operator.post(url(device, "schedule"), {"every_hours": "6"}).status_code == 403
    assert operator.post(url(device, "schedule-delete", schedule_id=schedule.pk)).status_code == 403
    stranger = logged_in(make_device(make_project()).org.created_by)
    assert stranger.post(url(device, "schedule-delete", schedule_id=schedule.pk)).status_code == 404
    assert client.post(url(device, "schedule-delete", schedule_id=schedule.pk)).status_code == 302
    assert not UploadSchedule.objects.exists()
