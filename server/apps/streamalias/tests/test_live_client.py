"""The real ``iotile-cloud`` client replacing a device and reading the continuous series through its alias."""

from __future__ import annotations

from datetime import timedelta

import pytest
from iotile_cloud.api.connection import Api
from iotile_cloud.stream.data import RawData

from server.apps.core.testing import make_user
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream
from server.apps.org.roles import ADMIN
from server.apps.org.services import org_member_add
from server.apps.stream.models import StreamId

PASSWORD = "live-pass-word-123"


@pytest.mark.live
def test_a_replaced_device_reads_as_one_series(live_server):
    project = make_project()
    user = make_user(email="field@example.com", password=PASSWORD)
    org_member_add(org=project.org, user=user, role=ADMIN)
    old = make_device(project, label="Pump 1")
    add_data(make_stream(old), 8, first_id=1)  # one reading a minute from T0
    new = make_device()
    swap = T0 + timedelta(minutes=5)

    api = Api(domain=live_server.url)
    assert api.login(email="field@example.com", password=PASSWORD) is True
    replaced = api.device(old.slug).replace.post({"new_device": new.slug, "timestamp": swap.isoformat()})
    alias = replaced["streams"][0]["alias"]
    new_stream = StreamId.objects.get(device=new, var_lid=0x5001)
    readings = [
        {"stream": new_stream.slug, "timestamp": (swap + timedelta(minutes=i)).isoformat(), "value": 100.0 + i}
        for i in range(-1, 3)
    ]
    assert api.data.post(readings)["count"] == 4

    series = RawData(api=api)
    series.initialize_from_server(filter=alias, page_size=3)
    assert [row["value"] for row in series.data] == [0.0, 1.0, 2.0, 3.0, 4.0, 100.0, 101.0, 102.0]
    assert [row["device"] for row in series.data] == [old.slug] * 5 + [new.slug] * 3
