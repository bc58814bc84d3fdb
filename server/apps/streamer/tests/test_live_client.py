"""A gateway with the real ``iotile-ext-cloud`` uploads reports to a live server; the worker ingests them; the real
clients read the readings and the acknowledgements back (iotile_clients.md §5-7)."""

from __future__ import annotations

import datetime

import pytest
from iotile.cloud.cloud import IOTileCloud
from iotile.cloud.config import link_cloud
from iotile.core.dev.config import ConfigManager
from iotile.core.dev.registry import ComponentRegistry
from iotile.core.hw.auth.auth_provider import AuthProvider
from iotile.core.hw.reports import FlexibleDictionaryReport, IOTileReading, SignedListReport
from iotile.core.hw.reports.report import IOTileEvent
from iotile.core.utilities.kvstore_mem import InMemoryKVStore
from iotile_analytics import core as analytics
from iotile_cloud.api.connection import Api
from iotile_cloud.stream.data import StreamData

from server.apps.core.testing import analytics_login, make_member
from server.apps.device.tests.factories import make_staff
from server.apps.deviceauth.services import device_key_set
from server.apps.org.roles import OWNER
from server.apps.streamer.tests.factories import USER_KEY, FixedKeyProvider, make_ingest, process

PASSWORD = "live-pass-word-123"
EMAIL = "gateway@example.com"


@pytest.fixture
def iotile_registry(monkeypatch):
    """iotile-core's registry (cloud settings and the stored token) in memory, never in the virtualenv's file."""
    monkeypatch.setattr(ComponentRegistry, "BackingType", InMemoryKVStore)
    monkeypatch.setattr(ComponentRegistry, "BackingFileName", None)
    monkeypatch.setattr(InMemoryKVStore, "_shared_data", {})


def _received(minutes: int) -> datetime.datetime:
    return datetime.datetime.utcnow().replace(microsecond=0) - datetime.timedelta(minutes=minutes)


@pytest.mark.live
def test_gateway_uploads_and_clients_read_back(live_server, folder_stores, iotile_registry):
    ingest = make_ingest()
    user = make_member(ingest.org, OWNER, email=EMAIL, password=PASSWORD)
    device = ingest.device
    device_key_set(device=device, type="USR", secret=USER_KEY.hex(), created_by=make_staff())

    config = ConfigManager()
    config.set("cloud:server", live_server.url)
    link_cloud(config, EMAIL, PASSWORD)
    cloud = IOTileCloud()

    # A hash-signed report of the system streamer, a user-key signed and encrypted one of the user streamer (with
    # a reboot), and a msgpack dictionary report with events.
    system = SignedListReport.FromReadings(
        device.id,
        [IOTileReading(10 * i, 0x5001, 100 + i, reading_id=i) for i in range(1, 6)],
        report_id=6,
        selector=0x5FFF,
        streamer=1,
        sent_timestamp=100,
    )
    system.received_time = _received(30)
    keyed = SignedListReport.FromReadings(
        device.id,
        [
            IOTileReading(10, 0x5002, 1, reading_id=7),
            IOTileReading(0, 0x5C00, 1, reading_id=8),
            IOTileReading(20, 0x5002, 2, reading_id=9),
        ],
        root_key=AuthProvider.UserKey,
        signer=FixedKeyProvider(AuthProvider.UserKey, {device.id: USER_KEY}),
        report_id=10,
        selector=0xD7FF,
        streamer=0,
        sent_timestamp=60,
    )
    keyed.received_time = _received(20)
    moment = datetime.datetime(2024, 4, 30, 8, 0, 0)
    dictionary = FlexibleDictionaryReport.FromReadings(
        device.id,
        [IOTileReading(5, 0x5003, 33, reading_id=11, reading_time=moment)],
        [IOTileEvent(5, 0x5020, {"peak": 2.5}, {"samples": [1, 2, 3]}, reading_id=12, reading_time=moment)],
        report_id=13,
        selector=0x5FFF,
        sent_timestamp=100,
        received_time=_received(10),
    )

    assert cloud.upload_report(system) == 5
    assert cloud.upload_report(keyed) == 3
    assert cloud.upload_report(dictionary) == 2
    assert cloud.upload_report(system) == 5  # the first one is not processed yet: all still new
    assert process().succeeded == 4
    assert cloud.upload_report(system) == 0  # now every reading is acknowledged
    assert process().succeeded == 1

    assert cloud.highest_acknowledged(device.id, 1) == 5
    assert cloud.highest_acknowledged(device.id, 0) == 9
    assert cloud.highest_acknowledged(device.id, 0x100) == 12
    assert sorted(tuple(ack) for ack in cloud.device_acknowledgements(device.id)) == [
        (0, 9, 0xD7FF),
        (1, 5, 0x5FFF),
        (0x100, 12, 0x5FFF),
    ]

    # iotile-cloud's Api and pager read the readings back.
    api = Api(domain=live_server.url)
    assert api.login(email=EMAIL, password=PASSWORD)
    first = ingest.stream_slug(0x5001)
    reader = StreamData(stream_id=first, api=api)
    reader.initialize_from_server(page_size=2)
    assert [row["int_value"] for row in reader.data] == [101, 102, 103, 104, 105]
    expected_first = (system.received_time - datetime.timedelta(seconds=90)).isoformat() + "Z"
    assert reader.data[0]["timestamp"] == expected_first
    decrypted = api.data.get(filter=ingest.stream_slug(0x5002))["results"]
    assert [(row["int_value"], row["value"]) for row in decrypted] == [(1, 1.0), (2, 2.0)]
    assert api.stream.get(device=device.slug)["count"] == 4
    report_list = api.streamer.report.get(device=device.slug)
    assert report_list["count"] == 5
    assert {row["status"] for row in report_list["results"]} == {"success"}

    # iotile-analytics reads the data and the events.
    analytics_login(email=EMAIL, password=PASSWORD, domain=live_server.url)
    group = analytics.AnalysisGroup.FromDevice(slug=device.slug, domain=live_server.url)
    assert list(group.fetch_stream(first).values) == [101.0, 102.0, 103.0, 104.0, 105.0]
    events = group.fetch_events(ingest.stream_slug(0x5020))
    assert len(events) == 1
    assert user.email == EMAIL
