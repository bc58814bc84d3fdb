from __future__ import annotations

import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member
from server.apps.datablock.models import ArchiveStatus, DataBlock
from server.apps.datablock.tests.factories import completed, make_block
from server.apps.device.models import Device, DeviceState
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR, OWNER
from server.apps.worker.models import QueueMessage

URL = "/api/v1/datablock/"


class TestDataBlockEndpoint(ScopedEndpointCases):
    list_url = URL
    list_key = "slug"
    list_query_count = 3
    write_method = "patch"
    allowed_role = ADMIN
    denied_role = MEMBER
    hidden_role = OPERATOR
    created_model = DataBlock
    stored_as = {"device": "device.slug"}

    def make_object(self, org):
        return make_block(org)

    def detail_url(self, obj) -> str:
        return f"{URL}{obj.slug}/"

    def write_data(self, obj) -> dict:
        return {"title": "Renamed", "description": "Second trip"}

    def create_data(self, org) -> dict:
        return {"device": make_device(make_project(org)).slug, "title": "Trip", "description": "first"}


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def owner(project):
    return project.org.created_by


def test_fields_filters_and_lenient_lookup(db):
    block = make_block(make_project().org)
    client = api_client(block.org.created_by)
    body = client.get(f"{URL}{block.slug}/").json()
    assert body["slug"] == block.slug
    assert body["device"] == block.device.slug
    assert (body["block"], body["title"], body["org"]) == (1, "Trip 1", block.org.slug)
    assert (body["status"], body["progress"], body["completed_on"]) == ("scheduled", 0, None)
    # The clients' four-group d-- form names the same block.
    assert client.get(f"{URL}d--{block.slug[3:]}/").status_code == 200
    assert client.get(URL, {"device": block.device.slug}).json()["count"] == 1
    assert client.get(URL, {"org": "other"}).json()["count"] == 0
    assert client.get(URL, {"q": "trip"}).json()["count"] == 1
    assert client.get(URL, {"q": "nothing"}).json()["count"] == 0


def test_create_makes_the_device_busy_and_queues_the_archive(owner, project, django_capture_on_commit_callbacks):
    device = make_device(project)
    client = api_client(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL,
            {"device": device.slug, "title": "Trip 1", "on_complete": {"state": "N0", "label": "Spare"}},
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == f"b--0001-{device.slug[8:]}"
    assert (body["block"], body["status"], body["progress"], body["device"]) == (1, "scheduled", 0, device.slug)
    assert body["on_complete"] == {"state": "N0", "label": "Spare"}
    assert body["progress_url"] == f"http://testserver{URL}{body['slug']}/"
    device.refresh_from_db()
    assert device.state == DeviceState.ARCHIVING
    message = QueueMessage.objects.get()
    assert (message.action, message.arguments) == ("ArchiveDevice", {"block_id": body["id"]})
    # Busy: a second archive (or a claim elsewhere, an unclaim) must wait.
    again = client.post(URL, {"device": device.slug, "title": "Trip 2"}, format="json")
    assert again.status_code == 409
    assert DataBlock.objects.count() == 1


def test_block_numbers_follow_each_other(owner, project):
    device = make_device(project)
    make_block(project.org)  # another device's block 1
    DataBlock.objects.create(slug=f"b--0001-{device.slug[8:]}", title="t", org=project.org, device=device, block=1)
    response = api_client(owner).post(URL, {"device": device.slug, "title": "Trip 2"}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["block"], response.json()["slug"]) == (2, f"b--0002-{device.slug[8:]}")


def test_create_failures_change_nothing(owner, project):
    client = api_client(owner)
    device = make_device(project)
    unclaimed = make_device()
    cases = [
        {"device": device.slug},
        {"title": "x"},
        {"device": unclaimed.slug, "title": "x"},
        {"device": "d--zz", "title": "x"},
        {"device": device.slug, "title": "x", "on_complete": {"state": "B1"}},
        {"device": device.slug, "title": "x", "on_complete": {"colour": "red"}},
        {"device": device.slug, "title": "x", "on_complete": [1]},
    ]
    for data in cases:
        response = client.post(URL, data, format="json")
        assert response.status_code == 400, (data, response.content)
    assert not DataBlock.objects.exists()
    assert not QueueMessage.objects.exists()
    assert Device.objects.get(pk=device.pk).state == DeviceState.ACTIVE


def test_delete_needs_can_delete_datablock(project):
    block = completed(make_block(project.org))
    url = f"{URL}{block.slug}/"
    for role in (ADMIN, MEMBER):
        assert api_client(make_member(project.org, role)).delete(url).status_code == 403, role
    assert api_client(make_member(project.org, OPERATOR)).delete(url).status_code == 404
    assert api_client(make_project().org.created_by).delete(url).status_code == 404
    assert api_client().delete(url).status_code == 401
    assert DataBlock.objects.filter(pk=block.pk).exists()
    assert api_client(make_member(project.org, OWNER)).delete(url).status_code == 204
    assert not DataBlock.objects.filter(pk=block.pk).exists()


def test_a_block_being_archived_cannot_be_deleted(owner, project):
    block = make_block(project.org, status=ArchiveStatus.ARCHIVING)
    assert api_client(owner).delete(f"{URL}{block.slug}/").status_code == 409
    assert DataBlock.objects.filter(pk=block.pk).exists()
