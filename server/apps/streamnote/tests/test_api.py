from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from server.apps.core.targets import target_for_object
from server.apps.core.testing import TargetedEndpointCases, api_client, assert_query_count, make_member
from server.apps.device.tests.factories import T0, make_device, make_project, make_stream
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.org.services import org_member_add
from server.apps.stores.selectors import store_file_exists
from server.apps.streamnote.models import NoteType, StreamNote
from server.apps.streamnote.services import (
    ATTACHMENT_STORE,
    NOTE_TARGET_KINDS,
    stream_note_create,
    system_note_create,
)

NOTES = "/api/v1/note/"


class TestStreamNoteEndpoint(TargetedEndpointCases):
    endpoint = NOTES
    created_model = StreamNote
    target_kinds = NOTE_TARGET_KINDS
    list_query_count = 4  # authentication, the target, the count, the page
    allowed_role = MEMBER
    denied_role = None  # every role that reads notes may also edit them (can_modify_device)
    hidden_role = OPERATOR
    create_denied_role = OPERATOR

    def make_row(self, target_obj):
        target = target_for_object(target_obj)
        return stream_note_create(user=target.org.created_by, target=target, note="Battery changed")

    def row_data(self, target_obj) -> dict:
        return {"note": "Moved to shelf 2", "timestamp": "2026-01-02T03:04:05Z"}

    def write_data(self, obj) -> dict:
        return {"note": "Battery replaced", "timestamp": "2026-02-01T10:00:00+02:00"}


@pytest.fixture
def device(db):
    return make_device(make_project())


@pytest.fixture
def owner(device):
    return device.org.created_by


def test_fields_and_default_timestamp(device, owner):
    response = api_client(owner).post(NOTES, {"target": device.slug, "note": "Installed"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["target"] == device.slug
    assert body["type"] == "ui"
    assert body["created_by"] == owner.username
    assert body["attachment"] is None
    for field in ("id", "timestamp", "note", "created_on"):
        assert field in body


def test_bulk_post_answers_count(device, owner):
    stream = make_stream(device)
    items = [
        {"note": "one", "timestamp": "2026-01-01T00:00:00Z"},
        {"note": "two", "timestamp": "2026-01-01T01:00:00Z"},
        {"target": stream.slug, "note": "on the stream"},
    ]
    response = api_client(owner).post(f"{NOTES}?target={device.slug}", items, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"count": 3}
    assert StreamNote.objects.filter(target=device.slug).count() == 2
    assert StreamNote.objects.filter(target=stream.slug).count() == 1


def test_bulk_posts_that_fail_write_nothing(device, owner):
    client = api_client(owner)
    other_org_device = make_device(make_project())
    cases = [
        ([{"target": device.slug, "note": "ok"}, {"target": device.slug, "note": ""}], 400),
        ([{"target": device.slug, "note": "ok"}, {"target": device.slug}], 400),
        ([{"target": device.slug, "note": "ok"}, {"target": "d--zz", "note": "x"}], 400),
        ([{"target": device.slug, "note": "ok"}, {"target": f"^{device.org.slug}", "note": "x"}], 400),
        ([{"target": device.slug, "note": "ok"}, {"target": other_org_device.slug, "note": "x"}], 404),
        ([{"target": device.slug, "note": "ok"}, {"note": "no target anywhere"}], 400),
        ([], 400),
    ]
    for items, expected in cases:
        response = client.post(NOTES, items, format="json")
        assert response.status_code == expected, (items, response.content)
    assert StreamNote.objects.count() == 0


def test_bulk_post_with_a_target_the_user_may_not_write_is_403_and_writes_nothing(device):
    org = device.org
    project = make_project(org)
    operator = make_member(org, OPERATOR)
    member = make_member(org, MEMBER)
    # A member of a second organisation who may only operate there.
    second = make_project()
    org_member_add(org=second.org, user=member, role=OPERATOR)
    items = [{"target": project.slug, "note": "ok"}, {"target": second.slug, "note": "not allowed"}]
    assert api_client(member).post(NOTES, items, format="json").status_code == 403
    assert api_client(operator).post(NOTES, items[:1], format="json").status_code == 403
    assert StreamNote.objects.count() == 0


def test_filters_start_end_lastn_and_type(device, owner):
    target = target_for_object(device)
    for i in range(6):
        stream_note_create(user=owner, target=target, note=f"n{i}", timestamp=T0 + timedelta(hours=i))
    system_note_create(target=device, note="updated firmware", timestamp=T0 + timedelta(hours=10))
    client = api_client(owner)

    def notes(**params):
        response = client.get(NOTES, {"target": device.slug, **params})
        assert response.status_code == 200, response.content
        return [row["note"] for row in response.json()["results"]]

    assert notes() == ["n0", "n1", "n2", "n3", "n4", "n5", "updated firmware"]
    assert notes(start="2026-01-01T02:00:00Z", end="2026-01-01T04:00:00Z") == ["n2", "n3"]
    assert notes(lastn=2) == ["n5", "updated firmware"]
    assert notes(lastn=2, type="ui") == ["n4", "n5"]
    assert notes(lastn=3, end="2026-01-01T04:00:00Z") == ["n1", "n2", "n3"]
    assert client.get(NOTES, {"target": device.slug, "start": "yesterday"}).status_code == 400
    assert notes(lastn=10**30) == notes()  # read as the cap
    for lastn in ("1.5", "1e30", "-1", "\u0661\u0662", "1_2"):
        assert client.get(NOTES, {"target": device.slug, "lastn": lastn}).status_code == 400


def test_system_notes_cannot_be_edited(device, owner):
    note = system_note_create(target=device, note="Firmware 2.1 applied", type=NoteType.SYSTEM_INFO)
    client = api_client(owner)
    assert client.patch(f"{NOTES}{note.id}/", {"note": "changed"}, format="json").status_code == 400
    assert client.get(f"{NOTES}{note.id}/").json()["type"] == "si"


def test_list_takes_the_lenient_device_slug(device, owner):
    stream_note_create(user=owner, target=target_for_object(device), note="Installed")
    response = api_client(owner).get(NOTES, {"target": f"d--{device.id:x}"})
    assert response.status_code == 200, response.content
    assert [row["note"] for row in response.json()["results"]] == ["Installed"]


def test_list_query_count_with_many_authors(device, owner):
    target = target_for_object(device)
    for _ in range(5):
        stream_note_create(user=make_member(device.org, MEMBER), target=target, note="hello")
    client = api_client(owner)
    with assert_query_count(4):
        response = client.get(NOTES, {"target": device.slug})
    assert response.json()["count"] == 5


def test_attachment_upload_download_and_delete(device, owner, folder_stores, django_capture_on_commit_callbacks):
    client = api_client(owner)
    upload = SimpleUploadedFile("../photo of site.jpg", b"\xff\xd8 jpeg bytes", content_type="image/jpeg")
    response = client.post(NOTES, {"target": device.slug, "note": "Site photo", "attachment": upload})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["attachment"] == "photo_of_site.jpg"
    download = client.get(f"{NOTES}{body['id']}/attachment/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\xff\xd8 jpeg bytes"
    assert "photo_of_site.jpg" in download["Content-Disposition"]
    key = StreamNote.objects.get(pk=body["id"]).attachment
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{NOTES}{body['id']}/").status_code == 204
    assert not store_file_exists(store=ATTACHMENT_STORE, key=key)


def test_a_note_without_attachment_has_none_to_download(device, owner):
    note = stream_note_create(user=owner, target=target_for_object(device), note="plain")
    assert api_client(owner).get(f"{NOTES}{note.id}/attachment/").status_code == 404
