"""GET /api/v1/search/?q=: the user's hits, paginated, in the contract's shape."""

from __future__ import annotations

import itertools

import pytest

from server.apps.core.testing import ScopedEndpointCases, api_client, make_org, make_user
from server.apps.org.roles import OPERATOR
from server.apps.search.tests.factories import add_device, add_project, add_property

URL = "/api/v1/search/"
_count = itertools.count(1)


class TestSearchEndpoint(ScopedEndpointCases):
    """Properties are the strictest kind to see (an operator may not), so they carry the generic cases."""

    list_url = URL
    list_key = "slug"
    write_method = None
    denied_role = None
    hidden_role = OPERATOR
    # Authentication, then the count and the page.
    list_query_count = 3

    def make_object(self, org):
        device = add_device(org, label=f"Device {next(_count)}")
        return add_property(org, device, name="Firmware", value="Quokka")

    def detail_url(self, obj):
        return None

    def list_params(self, obj):
        return {"q": "quokka"}

    def list_key_value(self, obj):
        return obj.target


@pytest.mark.django_db
def test_the_results_shape():
    org = make_org(name="Harbour Authority")
    device = add_device(org, label="Tide gauge", external_id="TG-1")
    response = api_client(org.created_by).get(URL, {"q": "tide"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    (hit,) = body["results"]
    assert set(hit) == {"kind", "slug", "title", "url", "org", "score"}
    assert hit["kind"] == "device"
    assert hit["slug"] == device.slug
    assert hit["title"] == "Tide gauge"
    assert hit["url"] == f"/org/{org.slug}/device/{device.slug}/"
    assert hit["org"] == org.slug
    assert hit["score"] > 0


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 201}])
def test_without_a_query_is_400(params):
    response = api_client(make_user()).get(URL, params)
    assert response.status_code == 400
    assert "q" in response.json()


@pytest.mark.django_db
def test_pages_and_page_size():
    org = make_org()
    for i in range(7):
        add_project(org, f"Estuary {i}")
    client = api_client(org.created_by)
    first = client.get(URL, {"q": "estuary", "page_size": 3}).json()
    assert first["count"] == 7
    assert len(first["results"]) == 3
    assert first["previous"] is None
    last = client.get(URL, {"q": "estuary", "page_size": 3, "page": 3}).json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    pages = [client.get(URL, {"q": "estuary", "page_size": 3, "page": page}).json() for page in (1, 2, 3)]
    assert len({hit["slug"] for page in pages for hit in page["results"]}) == 7
    assert client.get(URL, {"q": "estuary", "page": 9}).status_code == 404


@pytest.mark.django_db
def test_nothing_found_is_an_empty_page():
    response = api_client(make_user()).get(URL, {"q": "nothing-like-this"})
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
