"""event/, event/<id>/, event/<id>/data/ and event/upload/."""

from __future__ import annotations

import gzip
import json

from django.core.files.uploadedfile import SimpleUploadedFile

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member, make_org
from server.apps.device.tests.factories import make_device, make_project, make_staff, make_stream
from server.apps.org.models import OrgMembership
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.stores.selectors import store_file_read
from server.apps.stream.models import StreamId
from server.apps.streamevent.models import StreamEventData
from server.apps.streamevent.services import event_upload

UPLOAD_URL = "/api/v1/event/upload/"


def make_event(stream, *, payload: bytes = b'{"samples": [1, 2, 3]}', name: str = "data.json", **fields):
    fields.setdefault("timestamp", "2024-05-01T12:00:00Z")
    from django.utils.dateparse import parse_datetime

    return event_upload(
        user=make_staff(),
        stream=stream.slug,
        timestamp=parse_datetime(fields.pop("timestamp")),
        extra_data=fields.pop("extra_data", {"axis": "x"}),
        file_name=name,
        content=payload,
        **fields,
    )


def stream_in(org):
    project = org.projects.first() or make_project(org)
    device = project.devices.first() or make_device(project)
    return make_stream(device)


class TestEventEndpoint(ScopedEndpointCases):
    list_key = "id"
    write_method = None
    read_role = MEMBER
    list_query_count = 4  # authentication, the stream with the read permission, count, page

    def make_object(self, org):
        return make_event(stream_in(org))

    def detail_url(self, obj):
        return f"/api/v1/event/{obj.id}/"

    def get_list_url(self, obj):
        return "/api/v1/event/"

    def list_params(self, obj):
        return {"filter": StreamId.objects.get(series=obj.series).slug}


def upload(client, stream_slug: str, *, payload: bytes = b'{"peak": 2.5}', name: str = "event.json", **fields):
    body = {"file": SimpleUploadedFile(name, payload), "stream": stream_slug, "timestamp": "2024-05-01T12:00:00Z"}
    body["encoded_extra_data"] = json.dumps({"axis": "x", "peak": 2.5})
    body.update(fields)
    return client.post(UPLOAD_URL, body, format="multipart")


def test_upload_then_read_back(db):
    stream = stream_in(make_org())
    user = make_member(stream.org, MEMBER)
    client = api_client(user)
    response = upload(client, stream.slug, streamer_local_id="12", device_timestamp="300")
    assert response.status_code == 201, response.content
    body = response.json()
    event = StreamEventData.objects.get()
    assert body["id"] == event.id
    assert (body["stream"], body["device"]) == (stream.slug, stream.device.slug)
    assert (body["timestamp"], body["streamer_local_id"]) == ("2024-05-01T12:00:00Z", 12)
    assert (body["extra_data"], body["has_raw_data"]) == ({"axis": "x", "peak": 2.5}, True)
    assert event.org_id == stream.org_id
    assert event.data_key.startswith(f"{stream.slug}/2024/05/01/12/")
    assert store_file_read(store="events", key=event.data_key) == b'{"peak": 2.5}'

    listed = client.get("/api/v1/event/", {"filter": stream.slug, "page_size": 1, "mask": 1}).json()
    assert listed["count"] == 1
    assert listed["results"][0]["id"] == event.id
    assert client.get("/api/v1/event/", {"filter": stream.device.slug}).json()["count"] == 1
    assert client.get(f"/api/v1/event/{event.id}/data/").json() == {"peak": 2.5}


def test_payload_kinds(db):
    stream = stream_in(make_org())
    client = api_client(make_member(stream.org, MEMBER))
    packed = gzip.compress(b'{"a": 1}')
    gz = upload(client, stream.slug, payload=packed, name="big.json.gz").json()
    assert client.get(f"/api/v1/event/{gz['id']}/data/").json() == {"a": 1}
    csv = upload(client, stream.slug, payload=b"t,v\n1,2\n", name="rows.csv").json()
    response = client.get(f"/api/v1/event/{csv['id']}/data/")
    assert response["Content-Type"] == "text/csv"
    assert response.content == b"t,v\n1,2\n"
    refused = upload(client, stream.slug, name="picture.png")
    assert refused.status_code == 400


def test_event_without_payload_has_no_data(db):
    stream = stream_in(make_org())
    event = StreamEventData.objects.create(series=stream.series, org=stream.org, streamer_local_id=3)
    client = api_client(make_member(stream.org, MEMBER))
    assert client.get(f"/api/v1/event/{event.id}/").json()["has_raw_data"] is False
    assert client.get(f"/api/v1/event/{event.id}/data/").status_code == 404


def test_upload_failures(db):
    stream = stream_in(make_org())
    client = api_client(make_member(stream.org, MEMBER))
    other = stream_in(make_org())
    assert upload(client, other.slug).status_code == 400  # another organisation's stream reads as unknown
    assert upload(client, "s--nonsense").status_code == 400
    assert upload(client, stream.slug, encoded_extra_data="{not json").status_code == 400
    assert upload(client, stream.slug, encoded_extra_data="[1, 2]").status_code == 400
    assert client.post(UPLOAD_URL, {"stream": stream.slug}, format="multipart").status_code == 400
    assert upload(client, stream.slug, streamer_local_id="5").status_code == 201
    assert upload(client, stream.slug, streamer_local_id="5").status_code == 400  # that streamer id is stored
    assert upload(api_client(), stream.slug).status_code == 401
    assert StreamEventData.objects.count() == 1


def test_upload_needs_create_data_permission(db):
    stream = stream_in(make_org())
    user = make_member(stream.org, MEMBER)
    membership = OrgMembership.objects.get(user=user)
    membership.permissions["can_create_stream_data"] = False
    membership.save()
    assert upload(api_client(user), stream.slug).status_code == 403
    assert not StreamEventData.objects.exists()


def test_operator_uploads_but_cannot_read(db):
    stream = stream_in(make_org())
    client = api_client(make_member(stream.org, OPERATOR))
    response = upload(client, stream.slug)
    assert response.status_code == 201, response.content
    event = response.json()
    saved = StreamEventData.objects.get(pk=event["id"])
    assert (saved.series, saved.org_id) == (stream.series, stream.org_id)
    assert store_file_read(store="events", key=saved.data_key) == b'{"peak": 2.5}'
    assert client.get(f"/api/v1/event/{event['id']}/").status_code == 404
    assert client.get("/api/v1/event/", {"filter": stream.slug}).status_code == 403


def test_list_needs_a_filter_and_filters_by_time(db):
    stream = stream_in(make_org())
    make_event(stream, timestamp="2024-05-01T10:00:00Z", streamer_local_id=1)
    make_event(stream, timestamp="2024-05-01T12:00:00Z", streamer_local_id=2)
    client = api_client(make_member(stream.org, MEMBER))
    assert client.get("/api/v1/event/").status_code == 400
    rows = client.get("/api/v1/event/", {"filter": stream.slug, "start": "2024-05-01T11:00:00Z"}).json()["results"]
    assert [row["streamer_local_id"] for row in rows] == [2]
    rows = client.get("/api/v1/event/", {"filter": stream.slug}).json()["results"]
    assert [row["streamer_local_id"] for row in rows] == [1, 2]


def test_mask_is_read_as_a_boolean_and_masks_nothing(db):
    stream = stream_in(make_org())
    make_event(stream, timestamp="2024-05-01T10:00:00Z", streamer_local_id=1)
    client = api_client(make_member(stream.org, MEMBER))
    for mask in ("maybe", "yes", "on", "2"):
        response = client.get("/api/v1/event/", {"filter": stream.slug, "mask": mask})
        assert (response.status_code, list(response.json())) == (400, ["mask"])
    for mask in ("true", "False", "1", "0", ""):
        rows = client.get("/api/v1/event/", {"filter": stream.slug, "mask": mask}).json()["results"]
        assert [row["streamer_local_id"] for row in rows] == [1]
