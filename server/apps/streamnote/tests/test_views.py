"""The device page's notes tab: the timeline of the device's and its streams' notes, and adding one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from server.apps.core.targets import target_for_object
from server.apps.core.testing import make_member, make_org
from server.apps.device.tests.factories import T0, make_device, make_project, make_stream
from server.apps.device.tests.tab_cases import DeviceTabCases
from server.apps.org.roles import OPERATOR
from server.apps.streamnote.models import StreamNote
from server.apps.streamnote.services import stream_note_create, system_note_create
from server.apps.streamnote.tabs import NOTES_TAB


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(device, name: str = "", org=None) -> str:
    """The tab (``device:notes``), or one of its forms by name."""
    org = org or device.org
    return reverse(
        f"streamnote:{name}" if name else "device:notes", kwargs={"org_slug": org.slug, "device_slug": device.slug}
    )


@pytest.fixture
def device(db):
    return make_device(make_project(name="North basin"), label="Pump 7")


def note(obj, text, at=T0):
    return stream_note_create(user=obj.org.created_by, target=target_for_object(obj), note=text, timestamp=at)


def test_the_timeline_shows_device_and_stream_notes_newest_first(device):
    stream = make_stream(device)
    note(device, "Installed", T0)
    note(stream, "Recalibrated", T0 + timedelta(days=1))
    system_note_create(target=device, note="Firmware updated", timestamp=T0 + timedelta(days=2))
    note(make_device(device.project), "Someone else's", T0)
    response = logged_in(device.org.created_by).get(url(device))
    assert response.status_code == 200
    assert [n.note for n in response.context["notes"]] == ["Firmware updated", "Recalibrated", "Installed"]
    content = response.content.decode()
    assert stream.slug in content
    assert "the platform" in content
    assert "Someone else" not in content


def test_adding_a_note_with_an_attachment(device, folder_stores):
    client = logged_in(device.org.created_by)
    photo = SimpleUploadedFile("valve.jpg", b"jpeg bytes", content_type="image/jpeg")
    response = client.post(url(device, "create"), {"note": "Valve replaced", "attachment": photo})
    assert response.status_code == 302
    assert response.url == url(device)
    added = StreamNote.objects.get(target=device.slug)
    assert added.note == "Valve replaced"
    assert added.attachment.endswith("valve.jpg")
    assert "valve.jpg" in client.get(url(device)).content.decode()
    response = client.post(url(device, "create"), {"note": "  "})
    assert response.status_code == 200
    assert response.context["note_form"].errors
    response = client.post(url(device, "create"), {"note": "x", "timestamp": "yesterday"})
    assert response.context["note_form"].errors["timestamp"]
    assert StreamNote.objects.count() == 1


def test_a_note_while_the_attachment_store_is_out_is_a_503_page(device, store_outage):
    store_outage.start("contents")
    client = logged_in(device.org.created_by)
    photo = SimpleUploadedFile("valve.jpg", b"jpeg bytes", content_type="image/jpeg")
    response = client.post(url(device, "create"), {"note": "Valve replaced", "attachment": photo})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.context["message"].startswith("The file store 'contents' is unavailable")
    assert "The file store &#x27;contents&#x27; is unavailable" in response.content.decode()
    assert "Nothing was changed" in response.content.decode()
    assert not StreamNote.objects.exists()
    store_outage.end()
    photo = SimpleUploadedFile("valve.jpg", b"jpeg bytes", content_type="image/jpeg")
    assert client.post(url(device, "create"), {"note": "Valve replaced", "attachment": photo}).status_code == 302
    assert StreamNote.objects.count() == 1


def test_roles_and_scope(device):
    # Operators do not read notes: no tab content, no form, and a POST is refused.
    operator = logged_in(make_member(device.org, OPERATOR))
    response = operator.get(url(device))
    assert response.status_code == 200
    assert "note_form" not in response.context
    assert operator.post(url(device, "create"), {"note": "hi"}).status_code == 403
    outsider = logged_in(make_org().created_by)
    assert outsider.get(url(device)).status_code == 404
    assert outsider.post(url(device, "create"), {"note": "hi"}).status_code == 404
    assert not StreamNote.objects.exists()


class TestNotesTab(DeviceTabCases):
    tab = NOTES_TAB

    def add_rows(self, device, count):
        stream = make_stream(device)
        for number in range(count):
            note(device if number % 2 else stream, f"n{number}", T0 + timedelta(hours=number))

    def rows_in(self, response):
        return response.context["notes"].paginator.count
