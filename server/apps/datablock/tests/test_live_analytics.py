"""The real ``iotile-analytics-core`` client reading a device, then the data block it was archived into, from a
live server (iotile_clients.md §6)."""

from __future__ import annotations

import pytest
from iotile_analytics import core as analytics

from server.apps.core.testing import analytics_login, api_client, make_user
from server.apps.datablock.models import DataBlock
from server.apps.datablock.tests.factories import make_deployment
from server.apps.org.roles import MEMBER
from server.apps.org.services import org_member_add
from server.apps.worker.runner import run_worker

PASSWORD = "live-pass-word-123"


@pytest.mark.live
def test_analytics_reads_a_device_and_its_data_block(live_server):
    deployment = make_deployment()
    device = deployment.device
    user = make_user(email="analyst@example.com", password=PASSWORD)
    org_member_add(org=device.org, user=user, role=MEMBER)
    analytics_login(email="analyst@example.com", password=PASSWORD, domain=live_server.url)

    group = analytics.AnalysisGroup.FromDevice(slug=device.slug, domain=live_server.url)
    level, temperature = deployment.level.slug, deployment.temperature.slug
    assert group.source_info["slug"] == device.slug
    assert group.properties == {"site": "A", "fw": "2"}
    assert set(group.streams) == {level, temperature}
    assert group.stream_counts[level] == {"points": 30, "events": 2}
    assert group.stream_counts[temperature] == {"points": 10, "events": 0}
    series = group.fetch_stream(level)
    assert list(series.values) == [float(i) for i in range(30)]
    assert str(series.index[0]) == "2026-01-01 00:00:00+00:00"
    assert len(group.fetch_events(level)) == 2

    # Archive the device through the API and the worker, then read the block.
    response = api_client(device.org.created_by).post(
        "/api/v1/datablock/", {"device": device.slug, "title": "Trip 1"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert run_worker(burst=True).succeeded == 1
    block = DataBlock.objects.get()
    archive = analytics.AnalysisGroup.FromArchive(slug=block.slug, domain=live_server.url)
    assert (archive.source_info["slug"], archive.source_info["device"], archive.source_info["block"]) == (
        block.slug,
        device.slug,
        1,
    )
    assert archive.source_info["completed_on"]
    archived_level = next(slug for slug in archive.streams if slug.endswith("--5001"))
    assert archived_level == f"{level[:14]}0001{level[18:]}"
    assert archive.stream_counts[archived_level] == {"points": 30, "events": 2}
    assert list(archive.fetch_stream(archived_level).values) == list(series.values)
    assert archive.properties == {"site": "A", "fw": "2"}
