from __future__ import annotations

from datetime import timedelta

import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member
from server.apps.device.tests.factories import T0, make_project
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR, OWNER
from server.apps.streamalias.models import StreamAlias, StreamAliasTap
from server.apps.streamalias.tests.factories import make_alias, make_org_stream, make_tap

ALIASES = "/api/v1/alias/"
TAPS = "/api/v1/tap/"


class TestAliasEndpoint(ScopedEndpointCases):
    list_url = ALIASES
    list_key = "slug"
    list_query_count = 3
    allowed_role = ADMIN
    denied_role = MEMBER
    read_role = OPERATOR
    created_model = StreamAlias
    stored_as = {"org": "org.slug"}

    def make_object(self, org):
        return make_alias(org)

    def detail_url(self, obj) -> str:
        return f"{ALIASES}{obj.slug}/"

    def write_data(self, obj) -> dict:
        return {"name": "Renamed"}

    def create_data(self, org) -> dict:
        return {"name": "Flow", "org": org.slug}


class TestTapEndpoint(ScopedEndpointCases):
    list_url = TAPS
    list_key = "id"
    list_query_count = 3
    allowed_role = OWNER
    denied_role = MEMBER
    created_model = StreamAliasTap
    stored_as = {"alias": "alias.slug", "stream": "stream.slug"}

    def make_object(self, org):
        alias = StreamAlias.objects.filter(org=org).first() or make_alias(org)
        stream = make_org_stream(org)
        return make_tap(alias, stream, T0 + timedelta(days=StreamAliasTap.objects.filter(alias=alias).count()))

    def detail_url(self, obj) -> str:
        return f"{TAPS}{obj.id}/"

    def list_params(self, obj) -> dict:
        return {"target": obj.alias.slug}

    def write_data(self, obj) -> dict:
        return {"timestamp": (obj.timestamp + timedelta(hours=1)).isoformat()}

    def create_data(self, org) -> dict:
        stream = make_org_stream(org)
        return {"alias": make_alias(org).slug, "stream": stream.slug, "timestamp": "2026-01-01T00:00:00Z"}


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def owner(project):
    return project.org.created_by


def test_alias_slug_from_its_id_and_lenient_lookup(owner, project):
    client = api_client(owner)
    response = client.post(ALIASES, {"name": "Level", "org": project.org.slug}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    alias = StreamAlias.objects.get(slug=body["slug"])
    assert body["slug"] == f"a--0000-0000-0000-{alias.id:04x}"
    assert (body["name"], body["org"], body["id"]) == ("Level", project.org.slug, alias.id)
    assert client.get(f"{ALIASES}a--{alias.id:x}/").json()["slug"] == alias.slug
    assert client.get(f"{ALIASES}a--zz/").status_code == 404
    assert client.get(ALIASES, {"name": "lev"}).json()["count"] == 1
    assert client.get(ALIASES, {"org": "nope"}).json()["count"] == 0


def test_taps_list_by_target_oldest_first(owner, project):
    alias, other = make_alias(project.org), make_alias(project.org)
    stream = make_org_stream(project.org)
    later = make_tap(alias, stream, T0 + timedelta(hours=2))
    first = make_tap(alias, stream, T0)
    make_tap(other, stream, T0)
    body = api_client(owner).get(TAPS, {"target": alias.slug}).json()
    assert [row["id"] for row in body["results"]] == [first.id, later.id]
    assert body["results"][0] == {
        "id": first.id,
        "alias": alias.slug,
        "timestamp": "2026-01-01T00:00:00Z",
        "stream": stream.slug,
        "created_on": body["results"][0]["created_on"],
        "created_by": owner.username,
    }
    assert api_client(owner).get(TAPS, {"target": "a--zz"}).status_code == 400


def test_tap_failures_change_nothing(owner, project):
    client = api_client(owner)
    alias = make_alias(project.org)
    stream = make_org_stream(project.org)
    foreign_stream = make_org_stream(make_project().org)
    make_tap(alias, stream, T0)
    cases = [
        ({"alias": alias.slug, "stream": stream.slug, "timestamp": "2026-01-01T00:00:00Z"}, "timestamp"),
        ({"alias": alias.slug, "stream": foreign_stream.slug, "timestamp": "2026-02-01T00:00:00Z"}, "stream"),
        ({"alias": alias.slug, "stream": "s--junk", "timestamp": "2026-02-01T00:00:00Z"}, "stream"),
        ({"alias": "a--ffff", "stream": stream.slug, "timestamp": "2026-02-01T00:00:00Z"}, "alias"),
        ({"alias": alias.slug, "stream": stream.slug}, "timestamp"),
    ]
    for body, field in cases:
        response = client.post(TAPS, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in str(response.json()), response.json()
    assert StreamAliasTap.objects.count() == 1


def test_tap_update_moves_it_and_refuses_a_clash(owner, project):
    client = api_client(owner)
    alias = make_alias(project.org)
    stream, other = make_org_stream(project.org), make_org_stream(project.org)
    make_tap(alias, stream, T0)
    tap = make_tap(alias, stream, T0 + timedelta(hours=1))
    response = client.patch(f"{TAPS}{tap.id}/", {"stream": other.slug}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stream"] == other.slug
    assert client.patch(f"{TAPS}{tap.id}/", {"timestamp": "2026-01-01T00:00:00Z"}, format="json").status_code == 400
    tap.refresh_from_db()
    assert (tap.stream_id, tap.timestamp) == (other.pk, T0 + timedelta(hours=1))


def test_deleting_an_alias_keeps_its_streams(owner, project):
    alias = make_alias(project.org)
    stream = make_org_stream(project.org)
    make_tap(alias, stream, T0)
    assert api_client(owner).delete(f"{ALIASES}{alias.slug}/").status_code == 204
    assert not StreamAliasTap.objects.exists()
    stream.refresh_from_db()


def test_members_read_aliases_but_do_not_manage_them(project):
    alias = make_alias(project.org)
    member = api_client(make_member(project.org, MEMBER))
    assert member.get(f"{ALIASES}{alias.slug}/").status_code == 200
    assert member.post(ALIASES, {"name": "x", "org": project.org.slug}, format="json").status_code == 403
    assert member.delete(f"{ALIASES}{alias.slug}/").status_code == 403
    assert StreamAlias.objects.count() == 1
