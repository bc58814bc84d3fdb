"""Forwarding pages: the organisation's destinations and a new one; a destination's status, outbox and replay."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.forwarding.models import Delivery, DeliveryStatus, Destination
from server.apps.forwarding.services import deliveries_create
from server.apps.forwarding.tests.factories import make_destination, routed_message
from server.apps.org.roles import MEMBER


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail_url(destination, name: str = "detail", org=None) -> str:
    org = org or destination.org
    return reverse(f"forwarding:{name}", kwargs={"org_slug": org.slug, "destination_id": destination.id})


def list_url(org, name: str = "list") -> str:
    return reverse(f"forwarding:{name}", kwargs={"org_slug": org.slug})


@pytest.fixture
def org(db):
    return make_org()


@pytest.mark.parametrize("destinations", [1, 4])
def test_the_list_has_pinned_queries(org, destinations):
    for _ in range(destinations):
        make_destination(org)
    client = logged_in(org.created_by)
    with assert_query_count(5):
        response = client.get(list_url(org))
    assert response.status_code == 200
    assert response.content.decode().count('href="/org/') >= destinations
    assert b"destination-form" in response.content


def test_create_a_file_destination(org):
    response = logged_in(org.created_by).post(
        list_url(org, "create"), {"name": "DataBolt", "kind": "file", "store": "delivery", "key_prefix": "raw_data"}
    )
    destination = Destination.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(destination)
    assert (destination.kind, destination.store, destination.prefix) == ("file", "delivery", "raw_data")
    # A webhook without a URL is shown again with the error.
    response = logged_in(org.created_by).post(list_url(org, "create"), {"name": "Hook", "kind": "webhook"})
    assert response.status_code == 200
    assert b"A webhook needs a URL." in response.content
    member = logged_in(make_member(org, MEMBER))
    assert member.post(list_url(org, "create"), {"name": "X", "kind": "file"}).status_code == 403
    assert Destination.objects.count() == 1


@pytest.mark.parametrize("rows", [1, 6])
def test_the_destination_page_has_pinned_queries(org, rows):
    destination = make_destination(org)
    for number in range(rows):
        deliveries_create(messages=[routed_message(org, number)])
    Delivery.objects.filter(pk=destination.deliveries.first().pk).update(
        status=DeliveryStatus.DEAD, last_error="HTTP 500: boom"
    )
    client = logged_in(org.created_by)
    # session, account, destination, role, counts, last error, page count, page of rows
    with assert_query_count(8):
        response = client.get(detail_url(destination))
    body = response.content.decode()
    assert body.count('data-testid="delivery"') == rows
    assert "HTTP 500: boom" in body
    assert 'data-testid="replay-form"' in body


def test_replay_from_the_page(org):
    destination = make_destination(org)
    deliveries_create(messages=[routed_message(org)])
    Delivery.objects.update(status=DeliveryStatus.DEAD)
    response = logged_in(org.created_by).post(detail_url(destination, "replay"))
    assert response.status_code == 302
    assert Delivery.objects.get().status == "pending"


def test_other_orgs_and_members_get_404s(org):
    destination = make_destination(org)
    outsider = logged_in(make_org().created_by)
    assert outsider.get(detail_url(destination)).status_code == 404
    assert outsider.post(detail_url(destination, "replay")).status_code == 404
    assert logged_in(make_member(org, MEMBER)).get(detail_url(destination)).status_code == 404
    other = make_org(owner=org.created_by)
    assert logged_in(org.created_by).get(detail_url(destination, org=other)).status_code == 404
