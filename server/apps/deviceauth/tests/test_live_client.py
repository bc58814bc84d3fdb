"""The real ``IOTileCloud`` (iotile-ext-cloud) against a live server: it sets a device's sensor graph and template,
then impersonates the device and carries on with the device token (``a-jwt``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from iotile.cloud.cloud import IOTileCloud
from iotile.cloud.config import link_cloud
from iotile.core.dev.config import ConfigManager
from iotile.core.dev.registry import ComponentRegistry
from iotile.core.exceptions import ArgumentError, ExternalError
from iotile.core.hw.reports import IOTileReading, SignedListReport
from iotile.core.utilities.kvstore_mem import InMemoryKVStore
from iotile_cloud.api.exceptions import HttpNotFoundError

from server.apps.core.testing import make_member, make_user
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_device, make_project
from server.apps.devicetemplate.services import device_template_create
from server.apps.org.roles import MEMBER
from server.apps.sensorgraph.tests.factories import make_sensor_graph
from server.apps.stream.models import StreamId
from server.apps.streamer.models import StreamerReport

PASSWORD = "live-pass-word-123"
REGISTRY_FILE = Path(sys.prefix) / "component_registry.db"


@pytest.fixture
def iotile_registry(monkeypatch, live_server):
    """CoreTools keeps ``cloud:server`` and the token in its registry, a file inside the virtualenv by default. Here
    it lives in memory for the test only, so no test writes to the virtualenv or reaches iotile.cloud."""
    existed = REGISTRY_FILE.exists()
    monkeypatch.setattr(ComponentRegistry, "BackingType", InMemoryKVStore)
    monkeypatch.setattr(ComponentRegistry, "BackingFileName", None)
    monkeypatch.setattr(InMemoryKVStore, "_shared_data", {})
    config = ConfigManager()
    config.set("cloud:server", live_server.url)
    yield config
    assert REGISTRY_FILE.exists() == existed, "the test wrote CoreTools' registry into the virtualenv"


@pytest.mark.live
def test_iotile_cloud_sets_a_sensor_graph_and_impersonates_a_device(iotile_registry):
    staff = make_user(password=PASSWORD, is_staff=True)
    sg = make_sensor_graph(app_tag=1027)
    template = device_template_create(created_by=staff, external_sku="POD-1W", os_tag=1024)
    project = make_project()
    device, neighbour = make_device(project), make_device(project)
    member = make_member(project.org, MEMBER, password=PASSWORD)

    link_cloud(iotile_registry, member.email, PASSWORD)
    cloud = IOTileCloud()
    assert cloud.token_type == "jwt"

    # The sensor graph: checked against its app tag, then set; the device gets the graph's streams.
    with pytest.raises(ArgumentError):
        cloud.set_sensorgraph(device.id, sg.slug, app_tag=9999)
    with pytest.raises(ExternalError):  # the graph's GET is a 404
        cloud.set_sensorgraph(device.id, "no-such-graph")
    cloud.set_sensorgraph(device.id, sg.slug, app_tag=1027)
    assert Device.objects.get(pk=device.pk).sg == sg
    streams = StreamId.objects.filter(device=device).select_related("output_unit")
    assert {(s.var_lid, s.output_unit and s.output_unit.unit_full) for s in streams} == {
        (0x5001, None),
        (0x5002, "Gallons"),
    }
    assert cloud.device_info(device.id)["sg"] == sg.slug

    # The template needs staff (PATCH ?staff=1): a member is refused, staff set it.
    with pytest.raises(ExternalError):
        cloud.set_device_template(device.id, template.slug, os_tag=1024)
    staff_cloud = IOTileCloud()
    staff_cloud.api.login(email=staff.email, password=PASSWORD)
    with pytest.raises(ArgumentError):
        staff_cloud.set_device_template(device.id, template.slug, os_tag=1)
    staff_cloud.set_device_template(device.id, template.slug, os_tag=1024)
    assert Device.objects.get(pk=device.pk).template == template

    # Impersonation: the registry now holds a device token, and a new client uses it.
    cloud.impersonate_device(device.id)
    device_cloud = IOTileCloud()
    assert (device_cloud.token_type, device_cloud.refresh_required) == ("a-jwt", False)
    assert device_cloud.device_info(device.id)["slug"] == device.slug
    with pytest.raises(ArgumentError):
        device_cloud.device_info(neighbour.id)
    assert device_cloud.device_list() == [device.id]

    # link_cloud with a device id impersonates the device straight away.
    link_cloud(iotile_registry, member.email, PASSWORD, device_id=neighbour.id)
    assert IOTileCloud().device_info(neighbour.id)["slug"] == neighbour.slug


@pytest.mark.live
def test_an_impersonated_device_uploads_its_reports(iotile_registry, folder_stores, settings):
    settings.WORKER_QUEUE = "postgres"
    project = make_project()
    device, neighbour = make_device(project, sg=make_sensor_graph().slug), make_device(project)
    member = make_member(project.org, MEMBER, password=PASSWORD)
    link_cloud(iotile_registry, member.email, PASSWORD, device_id=device.id)
    device_cloud = IOTileCloud()
    assert device_cloud.token_type == "a-jwt"

    reading = IOTileReading(10, 0x5002, 1000, reading_id=1)
    report = SignedListReport.FromReadings(device.id, [reading], report_id=1, selector=0xD7FF, sent_timestamp=100)
    assert device_cloud.upload_report(report) == 1
    assert StreamerReport.objects.get().created_by == member
    assert [ack.index for ack in device_cloud.device_acknowledgements(device.id)] == [0]
    assert device_cloud.device_acknowledgements(neighbour.id) == []
    # Another device's report is out of the token's reach.
    other = SignedListReport.FromReadings(neighbour.id, [reading], report_id=1, selector=0xD7FF, sent_timestamp=100)
    with pytest.raises(HttpNotFoundError):
        device_cloud.upload_report(other)
    assert StreamerReport.objects.count() == 1
