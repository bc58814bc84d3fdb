"""event/upload/ and event/<id>/data/ while the events store is out: a 503 with Retry-After, no event row, and the
same upload succeeds once the store is back."""

from __future__ import annotations

from server.apps.core.testing import api_client, make_member, make_org
from server.apps.org.roles import MEMBER
from server.apps.stores.selectors import store_file_read
from server.apps.streamevent.models import StreamEventData
from server.apps.streamevent.tests.test_api import stream_in, upload


def test_an_event_upload_during_an_outage_is_a_503_that_leaves_nothing(db, store_outage):
    stream = stream_in(make_org())
    client = api_client(make_member(stream.org, MEMBER))
    store_outage.start("events")

    response = upload(client, stream.slug, streamer_local_id="12")
    assert response.status_code == 503, response.content
    assert response.json() == {
        "detail": "The file store 'events' is unavailable: the file could not be saved. Try again later."
    }
    assert response["Retry-After"] == "30"
    assert not StreamEventData.objects.exists()

    store_outage.end()
    response = upload(client, stream.slug, streamer_local_id="12")  # the streamer id is free: nothing was kept
    assert response.status_code == 201, response.content
    event = StreamEventData.objects.get()
    assert (event.streamer_local_id, event.extra_data) == (12, {"axis": "x", "peak": 2.5})
    assert store_file_read(store="events", key=event.data_key) == b'{"peak": 2.5}'


def test_reading_a_payload_during_an_outage_is_a_503(db, store_read_outage):
    stream = stream_in(make_org())
    client = api_client(make_member(stream.org, MEMBER))
    event_id = upload(client, stream.slug).json()["id"]
    store_read_outage.start("events")

    response = client.get(f"/api/v1/event/{event_id}/data/")
    assert response.status_code == 503, response.content
    assert (
        response.json()["detail"]
        == "The file store 'events' is unavailable: the file could not be read. Try again later."
    )
    assert response["Retry-After"] == "30"

    store_read_outage.end()
    assert client.get(f"/api/v1/event/{event_id}/data/").json() == {"peak": 2.5}
