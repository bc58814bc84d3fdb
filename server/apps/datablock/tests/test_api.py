from __future__ import annotations

from server.apps.core.slugs import block_slug
from server.apps.core.testing import ScopedEndpointCases, api_client
from server.apps.datablock.models import DataBlock
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import MEMBER, OPERATOR

URL = "/api/v1/datablock/"


def make_block(org, number: int = 1):
    device = make_device(make_project(org))
    return DataBlock.objects.create(
        slug=block_slug(device.id, number), title=f"Trip {number}", org=org, device=device, block=number
    )


class TestDataBlockEndpoint(ScopedEndpointCases):
    list_url = URL
    list_key = "slug"
    list_query_count = 3
    write_method = None
    allowed_role = MEMBER
    denied_role = None
    hidden_role = OPERATOR

    def make_object(self, org):
        return make_block(org)

    def detail_url(self, obj) -> str:
        return f"{URL}{obj.slug}/"


def test_fields_filters_and_lenient_lookup(db):
    block = make_block(make_project().org)
    client = api_client(block.org.created_by)
    body = client.get(f"{URL}{block.slug}/").json()
    assert body["slug"] == block.slug
    assert body["device"] == block.device.slug
    assert (body["block"], body["title"], body["org"]) == (1, "Trip 1", block.org.slug)
    # The clients' four-group d-- form names the same block.
    assert client.get(f"{URL}d--{block.slug[3:]}/").status_code == 200
    assert client.get(URL, {"device": block.device.slug}).json()["count"] == 1
    assert client.get(URL, {"org": "other"}).json()["count"] == 0
