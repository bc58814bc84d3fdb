from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import QueryDict

from server.apps.core.filtersets import LASTN_LIMIT
from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member, make_org
from server.apps.device.services import device_unclaim
from server.apps.device.tests.factories import (
    T0,
    add_data,
    make_device,
    make_project,
    make_staff,
    make_stream,
    make_variable,
)
from server.apps.org.models import OrgMembership
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.stream.models import StreamId
from server.apps.stream.services import stream_update
from server.apps.streamdata.api import views
from server.apps.streamdata.filtersets import StreamDataFilterSet
from server.apps.streamdata.models import StreamData
from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit

DATA = "/api/v1/data/"
DATA_FRAME = "/api/v1/df/"


def stream_data_url(stream) -> str:
    return f"/api/v1/stream/{stream.slug}/data/"


def read_routes(stream) -> list[tuple[str, dict[str, str]]]:
    """The routes that read a stream's rows with the same filters, each with what names the stream."""
    return [(DATA, {"filter": stream.slug}), (stream_data_url(stream), {}), (DATA_FRAME, {"filter": stream.slug})]


def _stream_with_data(org, count: int = 3):
    stream = make_stream(make_device(make_project(org)))
    add_data(stream, count)
    return stream


class TestStreamDataOfAStream(ScopedEndpointCases):
    list_url = None
    write_method = None
    allowed_role = MEMBER
    denied_role = None

    def make_object(self, org):
        return _stream_with_data(org)

    def detail_url(self, obj) -> str:
        return stream_data_url(obj)


class TestDataEndpoint(ScopedEndpointCases):
    list_url = DATA
    write_method = None
    allowed_role = MEMBER
    denied_role = None
    created_model = StreamData
    stored_as = {"stream": lambda row: StreamId.objects.get(series=row.series).slug}

    def make_object(self, org):
        return _stream_with_data(org)

    def detail_url(self, obj) -> str:
        return f"{DATA}?filter={obj.slug}"

    def list_params(self, obj) -> dict:
        return {"filter": obj.slug}

    def create_data(self, org) -> dict:
        stream = StreamId.objects.filter(org=org).first()
        return {"stream": stream.slug, "timestamp": "2026-02-01T00:00:00Z", "value": 1.5}


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def owner(project):
    return project.org.created_by


@pytest.fixture
def stream(project):
    return make_stream(make_device(project))


def _without(user, org, permission: str) -> None:
    membership = OrgMembership.objects.get(user=user, org=org)
    membership.permissions[permission] = False
    membership.save()


# Reading ----------------------------------------------------------------------------------------------------------


def test_read_needs_can_read_stream_data(project, stream):
    add_data(stream, 2)
    operator = api_client(make_member(project.org, OPERATOR))
    # Operators see the stream, but not its data.
    assert operator.get(f"/api/v1/stream/{stream.slug}/").status_code == 200
    assert operator.get(stream_data_url(stream)).status_code == 403
    assert operator.get(DATA, {"filter": stream.slug}).status_code == 403
    assert operator.get(DATA, {"filter": stream.device.slug}).status_code == 403


def test_data_needs_a_filter(owner):
    client = api_client(owner)
    assert client.get(DATA).status_code == 400
    for value in ("junk", "x--1", "a--zz", "b--0000-0000-0000-0001"):
        response = client.get(DATA, {"filter": value})
        assert response.status_code == 400, value
        assert response.json()["detail"]
    assert client.get(DATA, {"filter": "s--zz"}).status_code == 400
    for unknown in ("s--0000-ffff--0000-0000-0000-0001--5001", "a--0000-0000-0000-0001", "b--0001-0000-0000-0001"):
        assert client.get(DATA, {"filter": unknown}).status_code == 404, unknown


def test_fields_and_ascending_order(owner, stream):
    add_data(stream, 3)
    body = api_client(owner).get(DATA, {"filter": stream.slug}).json()
    assert body["count"] == 3
    first = body["results"][0]
    assert first["stream"] == stream.slug
    assert first["project"] == stream.project.slug
    assert first["device"] == stream.device.slug
    assert first["variable"] == stream.variable.slug
    assert first["timestamp"] == "2026-01-01T00:00:00Z"
    assert (first["value"], first["int_value"], first["output_value"], first["streamer_local_id"]) == (0, 0, 0, 1)
    for field in ("id", "device_timestamp", "dirty_ts", "status", "type"):
        assert field in first
    assert [row["value"] for row in body["results"]] == [0.0, 1.0, 2.0]


def test_the_wire_bytes_of_a_row(owner, stream):
    """Rows are rendered by orjson in the order and notation the clients have always read."""
    add_data(stream, 1, start=T0 + timedelta(microseconds=250))
    row = StreamData.objects.get()
    response = api_client(owner).get(stream_data_url(stream))
    assert response["Content-Type"] == "application/json"
    assert response.content == (
        b'{"count":1,"next":null,"previous":null,"results":[{"id":%d,"stream":"%s","project":"%s","device":"%s",'
        b'"variable":"%s","timestamp":"2026-01-01T00:00:00.000250Z","device_timestamp":null,"streamer_local_id":1,'
        b'"dirty_ts":false,"status":"unk","type":"Num","int_value":0,"value":0.0,"output_value":0.0,'
        b'"display_value":"0.00"}]}'
        % (
            row.id,
            stream.slug.encode(),
            stream.project.slug.encode(),
            stream.device.slug.encode(),
            stream.variable.slug.encode(),
        )
    )


def test_pagination_start_end_lastn(owner, stream):
    add_data(stream, 25)
    client = api_client(owner)
    url = stream_data_url(stream)
    page = client.get(url, {"page": 2, "page_size": 10}).json()
    assert page["count"] == 25
    assert [row["value"] for row in page["results"]] == [float(i) for i in range(10, 20)]
    assert page["next"]
    assert page["previous"]

    window = {"start": (T0 + timedelta(minutes=5)).isoformat(), "end": "2026-01-01T00:08:00Z"}
    assert [row["value"] for row in client.get(url, window).json()["results"]] == [5.0, 6.0, 7.0]

    last = client.get(url, {"lastn": 4}).json()
    assert last["count"] == 4
    assert [row["value"] for row in last["results"]] == [21.0, 22.0, 23.0, 24.0]
    combined = client.get(url, {"lastn": 2, "end": "2026-01-01T00:08:00Z"}).json()
    assert [row["value"] for row in combined["results"]] == [6.0, 7.0]
    ranged = client.get(DATA, {"filter": stream.slug, "streamer_id_0": 3, "streamer_id_1": 5}).json()
    assert [row["streamer_local_id"] for row in ranged["results"]] == [3, 4, 5]
    assert client.get(url, {"start": "yesterday"}).status_code == 400
    assert client.get(url, {"lastn": "many"}).status_code == 400
    assert client.get(url, {"lastn": -1}).status_code == 400


@pytest.mark.parametrize(
    "lastn",
    # Arabic-Indic and full-width 12, which int() reads, as page_size refuses them (inputs.parse_count).
    ["1.5", "1e30", "1e999999", "NaN", "Infinity", "-1", "\u0661\u0662", "\uff11\uff12", "1_2", "+2", " 2", "2.0"],
)
def test_lastn_that_is_not_a_whole_number_of_rows_is_400(owner, stream, lastn):
    add_data(stream, 3)
    client = api_client(owner)
    for url, params in read_routes(stream):
        response = client.get(url, {**params, "lastn": lastn})
        assert response.status_code == 400, response.content
        assert list(response.json()) == ["lastn"]


def test_lastn_and_page_size_beyond_their_caps_read_the_caps(owner, stream):
    """A huge ``lastn`` is the newest LASTN_LIMIT readings (iotile.cloud's cap), a huge ``page_size`` the largest
    page; neither is a 500 nor an error."""
    add_data(stream, 5)
    client = api_client(owner)
    for huge in ("1" + "0" * 30, "9" * 5000):
        for params in ({"lastn": huge}, {"page_size": huge}, {"lastn": huge, "page_size": huge}):
            body = client.get(DATA, {"filter": stream.slug, **params}).json()
            assert (body["count"], [row["value"] for row in body["results"]]) == (5, [0.0, 1.0, 2.0, 3.0, 4.0])
        form = StreamDataFilterSet.bound_form(QueryDict(f"lastn={huge}"))
        assert form.is_valid()
        assert form.cleaned_data["lastn"] == LASTN_LIMIT


@pytest.mark.parametrize("mask", ["maybe", "yes", "on", "2", "truee"])
def test_mask_that_is_not_a_boolean_is_400(owner, stream, mask):
    """``mask`` is documented as a boolean: read as every boolean filter is (core.lookups), though it masks nothing."""
    add_data(stream, 3)
    client = api_client(owner)
    for url, params in read_routes(stream):
        for lastn in ({}, {"lastn": 2}):
            response = client.get(url, {**params, **lastn, "mask": mask})
            assert response.status_code == 400, response.content
            assert list(response.json()) == ["mask"]


def test_mask_true_or_false_reads_the_same_rows(owner, stream, monkeypatch):
    add_data(stream, 3)
    client = api_client(owner)
    for compiled in (views.COMPILED_STREAMS_MAX, 0):  # lastn through the compiled statements, and without them
        monkeypatch.setattr(views, "COMPILED_STREAMS_MAX", compiled)
        for lastn in ({}, {"lastn": 2}):
            expected = client.get(DATA, {"filter": stream.slug, **lastn}).json()
            table = b"".join(client.get(DATA_FRAME, {"filter": stream.slug, **lastn}).streaming_content)
            for mask in ("true", "False", "1", "0", ""):
                assert client.get(DATA, {"filter": stream.slug, **lastn, "mask": mask}).json() == expected
                assert client.get(stream_data_url(stream), {**lastn, "mask": mask}).json() == expected
                response = client.get(DATA_FRAME, {"filter": stream.slug, **lastn, "mask": mask})
                assert b"".join(response.streaming_content) == table


@pytest.mark.parametrize("bound", [{"streamer_id_0": 2**63}, {"streamer_id_1": -(2**63) - 1}])
def test_lastn_with_a_streamer_id_no_row_can_have_is_an_empty_list(owner, stream, bound, monkeypatch):
    """Django leaves a bound past the column's range out of the SQL as matching nothing; with lastn over a queryset
    (df/, an alias, more streams than are compiled) that was a 500."""
    monkeypatch.setattr(views, "COMPILED_STREAMS_MAX", 0)
    add_data(stream, 3)
    client = api_client(owner)
    for url, params in ((DATA, {"filter": stream.slug}), (stream_data_url(stream), {})):
        body = client.get(url, {**params, "lastn": 2, **bound}).json()
        assert (body["count"], body["results"]) == (0, [])
    response = client.get("/api/v1/df/", {"filter": stream.slug, "lastn": 2, **bound})
    assert (response.status_code, b"".join(response.streaming_content)) == (200, b"timestamp,value,int_value,stream\n")


def test_device_and_variable_filters(project, owner):
    first, second = make_device(project), make_device(project)
    variable = make_variable(project, lid=0x5001)
    a = make_stream(first, variable=variable)
    b = make_stream(second, variable=variable)
    c = make_stream(first, lid=0x5002)
    add_data(a, 2)
    add_data(b, 3, start=T0 + timedelta(seconds=30))
    add_data(c, 4)
    client = api_client(owner)
    by_device = client.get(DATA, {"filter": first.slug}).json()
    assert by_device["count"] == 6
    assert {row["stream"] for row in by_device["results"]} == {a.slug, c.slug}
    by_variable = client.get(DATA, {"filter": variable.slug}).json()
    assert by_variable["count"] == 5
    timestamps = [row["timestamp"] for row in by_variable["results"]]
    assert timestamps == sorted(timestamps)


def test_the_device_filter_of_an_unclaimed_device_lists_none_of_its_old_project_data(project, owner):
    device = make_device(project)
    add_data(make_stream(device), 3)
    device_unclaim(device=device)  # the streams and their rows stay with the organisation's project
    staff = api_client(make_staff())  # staff alone still see the device
    response = staff.get(DATA, {"filter": device.slug})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0
    assert api_client(owner).get(DATA, {"filter": device.slug}).status_code == 404


def test_output_value_uses_the_output_unit(project, owner):
    var_type = VarType.objects.create(name="Volume", slug="volume")
    unit = VarTypeOutputUnit.objects.create(var_type=var_type, unit_full="mL", slug="out--volume--ml", m=1000, d=1)
    stream = make_stream(make_device(project), var_type="volume", output_unit=unit.slug)
    add_data(stream, 2)
    rows = api_client(owner).get(stream_data_url(stream)).json()["results"]
    assert [(row["value"], row["output_value"]) for row in rows] == [(0.0, 0.0), (1.0, 1000.0)]


def test_data_list_query_count_is_constant(owner, stream):
    client = api_client(owner)
    add_data(stream, 2)
    # The account, then the stream with whether the user may read its data; then the page on the streamdata
    # database, and its count only when the first page does not hold everything.
    with assert_query_count(2), assert_query_count(1, using="streamdata"):
        client.get(DATA, {"filter": stream.slug})
    add_data(stream, 50, start=T0 + timedelta(days=1), first_id=1000)
    with assert_query_count(2), assert_query_count(1, using="streamdata"):
        assert client.get(DATA, {"filter": stream.slug}).json()["count"] == 52
    with assert_query_count(2), assert_query_count(1, using="streamdata"):
        assert client.get(stream_data_url(stream), {"lastn": 10}).json()["count"] == 10
    with assert_query_count(2), assert_query_count(2, using="streamdata"):
        body = client.get(DATA, {"filter": stream.slug, "page_size": 50}).json()
    assert (body["count"], len(body["results"]), body["next"] is not None) == (52, 50, True)
    with assert_query_count(2), assert_query_count(2, using="streamdata"):
        body = client.get(DATA, {"filter": stream.slug, "page_size": 50, "page": 2}).json()
    assert (body["count"], len(body["results"]), body["previous"] is not None) == (52, 2, True)
    with assert_query_count(2), assert_query_count(1, using="streamdata"):
        body = client.get(DATA, {"filter": stream.slug, "page_size": 52}).json()
    assert (body["count"], len(body["results"]), body["next"]) == (52, 52, None)


# Writing ----------------------------------------------------------------------------------------------------------


def test_post_one_point_and_a_list(owner, stream):
    client = api_client(owner)
    one = {"stream": stream.slug, "timestamp": "2026-03-01T10:00:00Z", "value": 2.5, "streamer_local_id": 7}
    response = client.post(DATA, one, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["id"]
    assert response.json()["value"] == 2.5
    again = client.post(DATA, one, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == response.json()["id"]

    many = [
        {"stream": stream.slug, "timestamp": "2026-03-01T10:01:00Z", "value": 3, "streamer_local_id": 8},
        {"stream": stream.slug, "timestamp": "2026-03-01T10:02:00", "int_value": 4},
        # Already stored: skipped.
        {"stream": stream.slug, "timestamp": "2026-03-01T10:00:00Z", "value": 2.5, "streamer_local_id": 7},
    ]
    response = client.post(DATA, many, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"count": 2}
    assert StreamData.objects.filter(series=stream.series).count() == 3
    naive = StreamData.objects.get(series=stream.series, int_value=4)
    assert naive.timestamp.isoformat() == "2026-03-01T10:02:00+00:00"
    assert naive.type == "ITR"


def test_int_value_goes_through_the_stream_scaling(project, owner):
    var_type = VarType.objects.create(name="Pulses", slug="pulses")
    unit = VarTypeInputUnit.objects.create(var_type=var_type, unit_full="kilo", slug="in--pulses--k", m=1000)
    stream = make_stream(make_device(project), var_type="pulses", input_unit=unit.slug)
    stream_update(stream=stream, multiplication_factor=3, division_factor=2, offset=1)
    point = {"stream": stream.slug, "timestamp": "2026-03-01T00:00:00Z", "int_value": 10}
    response = api_client(owner).post(DATA, point, format="json")
    assert response.status_code == 201
    assert response.json()["value"] == (10 * 3 / 2 + 1) * 1000
    assert response.json()["type"] == "ITR"


@pytest.mark.parametrize(
    "bad",
    [
        {"timestamp": "not a time"},
        {"timestamp": None},
        {"value": "lots"},
        {"value": None, "int_value": None},
        {"streamer_local_id": -1},
        {"stream": "s--junk"},
    ],
)
def test_bad_points_write_nothing(owner, stream, bad):
    good = {"stream": stream.slug, "timestamp": "2026-03-01T00:00:00Z", "value": 1}
    response = api_client(owner).post(DATA, [good, {**good, **bad}], format="json")
    assert response.status_code == 400, response.content
    assert not StreamData.objects.exists()


def test_unknown_or_foreign_streams_write_nothing(owner, stream):
    foreign = make_stream(make_device(make_project(make_org())))
    good = {"stream": stream.slug, "timestamp": "2026-03-01T00:00:00Z", "value": 1}
    client = api_client(owner)
    for slug in (foreign.slug, "s--0000-ffff--0000-0000-0000-0001--5001"):
        response = client.post(DATA, [good, {**good, "stream": slug}], format="json")
        assert response.status_code == 404
    assert client.post(DATA, [], format="json").status_code == 400
    assert not StreamData.objects.exists()


def test_post_needs_can_create_stream_data_and_an_enabled_stream(project, stream):
    point = {"stream": stream.slug, "timestamp": "2026-03-01T00:00:00Z", "value": 1}
    operator = make_member(project.org, OPERATOR)
    assert api_client(operator).post(DATA, point, format="json").status_code == 201
    reader = make_member(project.org, MEMBER)
    _without(reader, project.org, "can_create_stream_data")
    assert api_client(reader).post(DATA, point, format="json").status_code == 403
    stream_update(stream=stream, enabled=False)
    assert api_client(operator).post(DATA, {**point, "value": 2}, format="json").status_code == 400
    assert StreamData.objects.count() == 1


def test_a_repeated_post_answers_the_stored_row_in_the_stream_output_unit(project):
    """The answer is read back through the scoped selectors: the stream the writer may add data to (an operator,
    who may not read data, included) and that stream's stored row."""
    var_type = VarType.objects.create(name="Volume", slug="volume")
    unit = VarTypeOutputUnit.objects.create(
        var_type=var_type, unit_full="mL", slug="out--volume--ml", m=1000, d=1, decimal_places=1
    )
    stream = make_stream(make_device(project), var_type="volume", output_unit=unit.slug)
    operator = api_client(make_member(project.org, OPERATOR))
    point = {"stream": stream.slug, "timestamp": "2026-03-01T10:00:00Z", "value": 0.25, "streamer_local_id": 3}
    first = operator.post(DATA, point, format="json")
    assert first.status_code == 201, first.content
    again = operator.post(DATA, {**point, "value": 9.0}, format="json")
    assert again.status_code == 200, again.content
    stored = StreamData.objects.get(series=stream.series)
    assert stored.value == 0.25  # the first reading stays
    assert again.json()["id"] == first.json()["id"] == stored.id
    assert (again.json()["value"], again.json()["output_value"], again.json()["display_value"]) == (
        0.25,
        250.0,
        "250.0",
    )


def test_post_without_the_trailing_slash_is_served_not_redirected(owner, stream):
    point = {"stream": stream.slug, "timestamp": "2026-03-01T00:00:00Z", "value": 1}
    assert api_client(owner).post(DATA.rstrip("/"), point, format="json").status_code == 201
    assert api_client(owner).get(stream_data_url(stream).rstrip("/")).status_code == 200


def test_a_permission_change_counts_on_the_next_request(project, stream):
    # Nothing about who may read what is kept between requests: the compiled lookups ask the database each time.
    add_data(stream, 2)
    member = make_member(project.org, MEMBER)
    client = api_client(member)
    assert client.get(DATA, {"filter": stream.slug, "lastn": 1}).status_code == 200
    _without(member, project.org, "can_read_stream_data")
    assert client.get(DATA, {"filter": stream.slug, "lastn": 1}).status_code == 403
    assert client.get(stream_data_url(stream), {"lastn": 1}).status_code == 403
    OrgMembership.objects.filter(user=member, org=project.org).update(is_active=False)
    assert client.get(DATA, {"filter": stream.slug, "lastn": 1}).status_code == 404
    member.is_staff = True
    member.save(update_fields=["is_staff"])
    assert client.get(DATA, {"filter": stream.slug, "lastn": 1}).status_code == 200
