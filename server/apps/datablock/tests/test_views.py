"""Data block pages: archiving from the device page, the block's page with its progress and streams, the progress
endpoint, deleting, and the organisation's and project's lists."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.datablock.models import DataBlock
from server.apps.datablock.services import datablock_archive, datablock_create
from server.apps.datablock.tests.factories import make_deployment
from server.apps.device.models import Device, DeviceState
from server.apps.device.tests.factories import make_project
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.worker.models import QueueMessage


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def block_url(block, name: str = "detail", org=None, slug=None) -> str:
    org = org or block.org
    return reverse(f"datablock:{name}", kwargs={"org_slug": org.slug, "block_slug": slug or block.slug})


def archive_url(device) -> str:
    return reverse("datablock:create", kwargs={"org_slug": device.org.slug, "device_slug": device.slug})


@pytest.fixture
def deployment(db):
    return make_deployment()


@pytest.fixture
def owner(deployment):
    return deployment.device.org.created_by


def archived(deployment, owner, **fields) -> DataBlock:
    block = datablock_create(user=owner, device=deployment.device, title="Trip 1", **fields)
    return datablock_archive(block=block)


def test_archiving_from_the_device_page(deployment, owner):
    device = deployment.device
    page = logged_in(owner).get(
        reverse("device:detail", kwargs={"org_slug": device.org.slug, "device_slug": device.slug})
    )
    assert page.context["archive_form"] is not None
    response = logged_in(owner).post(
        archive_url(device), {"title": "Trip 1", "description": "North sea", "state": "N0", "label": "Spare"}
    )
    block = DataBlock.objects.get(device=device)
    assert response.status_code == 302
    assert response.url == block_url(block)
    assert (block.title, block.on_complete, block.status) == ("Trip 1", {"state": "N0", "label": "Spare"}, "scheduled")
    # The worker's ArchiveDevice, queued in the same transaction
    assert list(QueueMessage.objects.values_list("action", flat=True)) == ["ArchiveDevice"]
    assert Device.objects.get(pk=device.pk).state == DeviceState.ARCHIVING
    # A busy device is not archived twice: the page says why and nothing is created.
    response = logged_in(owner).post(archive_url(device), {"title": "Again"})
    assert response.status_code == 200
    assert "busy" in str(response.context["archive_form"].errors)
    assert DataBlock.objects.count() == 1
    assert logged_in(owner).post(archive_url(device), {"title": ""}).status_code == 200


def test_the_block_page_follows_the_progress_then_shows_the_streams(deployment, owner):
    block = datablock_create(user=owner, device=deployment.device, title="Trip 1")
    client = logged_in(owner)
    response = client.get(block_url(block))
    content = response.content.decode()
    assert response.status_code == 200
    assert not response.context["completed"]
    assert f'data-progress-url="{block_url(block, "progress")}"' in content
    assert "streams" not in response.context
    assert client.get(block_url(block, "progress")).json() == {
        "status": "scheduled",
        "status_label": "Scheduled",
        "progress": 0,
        "done": False,
    }
    datablock_archive(block=block)
    assert client.get(block_url(block, "progress")).json()["done"] is True
    response = client.get(block_url(block))
    counts = {stream.var_lid: stream.reading_count for stream in response.context["streams"]}
    assert counts == {0x5001: 30, 0x5002: 10}
    content = response.content.decode()
    assert "data-progress-url" not in content
    assert 'aria-valuenow="100"' in content
    assert [p.name for p in response.context["properties"]] == ["fw", "site"]
    assert [n.note for n in response.context["notes"]] == ["Installed"]
    # The block's streams open on the stream page.
    stream = StreamId.objects.get(block=block, var_lid=0x5001)
    page = client.get(reverse("stream:detail", kwargs={"org_slug": block.org.slug, "stream_slug": stream.slug}))
    assert page.status_code == 200
    assert page.context["summary"].count == 30
    assert stream.slug in content


def test_a_lenient_slug_redirects(deployment, owner):
    block = archived(deployment, owner)
    lenient = "d--" + block.slug[3:]  # the clients' four-group form
    response = logged_in(owner).get(block_url(block, slug=lenient))
    assert response.status_code == 302
    assert response.url == block_url(block)


def test_deleting_a_block(deployment, owner):
    block = archived(deployment, owner)
    admin = logged_in(make_member(block.org, ADMIN))
    response = admin.get(block_url(block))
    assert "delete_form" not in response.context
    assert admin.post(block_url(block, "delete")).status_code == 403
    response = logged_in(owner).post(block_url(block, "delete"))
    assert response.status_code == 302
    assert not DataBlock.objects.filter(pk=block.pk).exists()
    assert not StreamData.objects.filter(series=deployment.level.series).exists()  # the block held its series


def test_a_block_being_archived_is_not_deleted(deployment, owner):
    block = datablock_create(user=owner, device=deployment.device, title="Trip 1")
    response = logged_in(owner).post(block_url(block, "delete"))
    assert response.status_code == 200
    assert DataBlock.objects.filter(pk=block.pk).exists()


def test_roles_and_scope(deployment, owner):
    block = archived(deployment, owner)
    device = deployment.device
    # Members see blocks and their data but may not archive.
    member = logged_in(make_member(block.org, MEMBER))
    assert member.get(block_url(block)).status_code == 200
    assert member.post(archive_url(device), {"title": "x"}).status_code == 403
    # Operators may not access blocks at all.
    operator = logged_in(make_member(block.org, OPERATOR))
    assert operator.get(block_url(block)).status_code == 404
    assert operator.get(block_url(block, "progress")).status_code == 404
    listing = operator.get(reverse("datablock:list", kwargs={"org_slug": block.org.slug}))
    assert listing.status_code == 200
    assert listing.context["blocks"] is None
    stranger = make_org()
    outsider = logged_in(stranger.created_by)
    for path in (block_url(block), block_url(block, "progress"), reverse("datablock:list", args=[block.org.slug])):
        assert outsider.get(path).status_code == 404
    assert outsider.post(block_url(block, "delete")).status_code == 404
    assert outsider.post(archive_url(device), {"title": "x"}).status_code == 404
    assert logged_in(owner).get(block_url(block, org=stranger)).status_code == 404
    assert Client().get(block_url(block)).status_code == 302
    assert DataBlock.objects.count() == 1


def test_the_organisations_list_searches_and_narrows(deployment, owner):
    block = archived(deployment, owner)
    other = make_deployment(project=make_project(block.org))
    datablock_create(user=owner, device=other.device, title="Calibration run")
    client = logged_in(owner)
    path = reverse("datablock:list", kwargs={"org_slug": block.org.slug})
    assert [b.title for b in client.get(path).context["blocks"]] == ["Calibration run", "Trip 1"]
    assert [b.title for b in client.get(path, {"q": "calib"}).context["blocks"]] == ["Calibration run"]
    assert [b.slug for b in client.get(path, {"device": deployment.device.slug}).context["blocks"]] == [block.slug]
    assert not client.get(path, {"device": "nonsense"}).context["blocks"]
    project = client.get(reverse("project:detail", args=[block.org.slug, deployment.device.project.slug]))
    assert [b.slug for b in project.context["blocks"]] == [block.slug]


@pytest.mark.parametrize("rows", [1, 3])
def test_query_counts_are_constant(db, rows):
    org = make_org()
    blocks = [archived(make_deployment(make_project(org)), org.created_by) for _ in range(rows)]
    client = logged_in(org.created_by)
    # session, user, the organisation, the user's role and permissions, blocks (count, page)
    with assert_query_count(6):
        response = client.get(reverse("datablock:list", kwargs={"org_slug": org.slug}))
    assert response.context["blocks"].paginator.count == rows
    # session, user, block, role and permissions, its streams, properties and notes; the counts on streamdata
    with assert_query_count(7), assert_query_count(1, using="streamdata"):
        response = client.get(block_url(blocks[-1]))
    with assert_query_count(3):
        client.get(block_url(blocks[-1], "progress"))
