"""The real ``iotile-cloud`` client reading devices, streams and pages of data from a live server."""

from __future__ import annotations

import pytest
from iotile_cloud.api.connection import Api
from iotile_cloud.api.exceptions import HttpClientError, HttpNotFoundError
from iotile_cloud.stream.data import RawData, StreamData

from server.apps.core.testing import make_user
from server.apps.device.tests.factories import add_data, make_device, make_project, make_stream
from server.apps.devicetemplate.services import device_template_create
from server.apps.org.roles import MEMBER
from server.apps.org.services import org_member_add
from server.apps.sensorgraph.services import sensorgraph_create

PASSWORD = "live-pass-word-123"


@pytest.mark.live
def test_iotile_cloud_client_reads_devices_streams_and_data(live_server):
    project = make_project()
    user = make_user(email="reader@example.com", password=PASSWORD)
    org_member_add(org=project.org, user=user, role=MEMBER)
    device = make_device(project, label="live", external_id="ext-live")
    stream = make_stream(device)
    add_data(stream, 23)

    api = Api(domain=live_server.url)
    assert api.login(email="reader@example.com", password=PASSWORD) is True

    devices = api.device.get(project=str(project.id))
    assert devices["count"] == 1
    assert devices["results"][0]["id"] == device.id
    assert api.device.get(external_id="ext-live")["results"][0]["slug"] == device.slug
    detail = api.device(device.slug).get()
    assert (detail["slug"], detail["gid"], detail["project"]) == (device.slug, device.slug[3:], str(project.id))
    assert api.device(f"d--{device.id:x}").get()["id"] == device.id
    with pytest.raises(HttpNotFoundError):
        api.device("d--0000-0000-0fff-ffff").get()

    streams = api.stream.get(device=device.slug, all=1)
    assert [row["slug"] for row in streams["results"]] == [stream.slug]
    assert "var_type" in streams["results"][0]
    extra = api.device(device.slug).extra.get()
    assert extra["stream_counts"][stream.slug]["data_cnt"] == 23

    page = api.stream(stream.slug).data.get(page=2, page_size=10)
    assert page["count"] == 23
    assert [row["value"] for row in page["results"]] == [float(i) for i in range(10, 20)]

    reader = StreamData(stream_id=stream.slug, api=api)
    reader.initialize_from_server(page_size=5)
    assert [row["value"] for row in reader.data] == [float(i) for i in range(23)]
    assert reader.data[0]["timestamp"] == "2026-01-01T00:00:00Z"

    raw = RawData(api=api)
    raw.initialize_from_server(filter=stream.slug, page_size=10, mask=1)
    assert len(raw.data) == 23

    last = api.stream(stream.slug).data.get(lastn=3)
    assert [row["value"] for row in last["results"]] == [20.0, 21.0, 22.0]

    assert api.data.post({"stream": stream.slug, "timestamp": "2026-02-01T00:00:00Z", "value": 99.0})["value"] == 99.0
    with pytest.raises(HttpClientError):
        api.data.get()


@pytest.mark.live
def test_iotile_cloud_client_sets_sensor_graph_and_template(live_server):
    staff = make_user(password=PASSWORD, is_staff=True)
    sg = sensorgraph_create(created_by=staff, name="Shipping", major_version=1, app_tag=1027)
    template = device_template_create(created_by=staff, external_sku="POD-1M", os_tag=1024)
    device = make_device(make_project())

    api = Api(domain=live_server.url)
    assert api.login(email=staff.email, password=PASSWORD) is True
    # What IOTileCloud.set_sensorgraph / set_device_template do.
    assert api.sg(sg.slug).get()["app_tag"] == 1027
    assert api.device(device.slug).patch({"sg": sg.slug})["sg"] == sg.slug
    assert api.dt(template.slug).get()["os_tag"] == 1024
    assert api.device(device.slug).patch({"template": template.slug}, staff=1)["template"] == template.slug
    with pytest.raises(HttpClientError):
        api.device(device.slug).patch({"sg": "no-such-graph"})
    assert api.device(device.slug).unclaim.post({"clean_streams": True})["unclaimed"] is True
