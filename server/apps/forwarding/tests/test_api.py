"""``destination/``: the generic scoped-endpoint cases, then bad input (400 never 500), the status (counts, lag,
last error), the outbox listing and the replay of dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member, make_org
from server.apps.forwarding.models import Delivery, DeliveryStatus, Destination
from server.apps.forwarding.services import deliveries_create
from server.apps.forwarding.tests.factories import make_destination, routed_message
from server.apps.org.roles import ADMIN, MEMBER, OWNER

DESTINATIONS = "/api/v1/destination/"


class TestDestinationEndpoint(ScopedEndpointCases):
    list_url = DESTINATIONS
    list_key = "id"
    list_query_count = 3
    allowed_role = ADMIN
    denied_role = None  # reading a destination and changing it need the same permission
    hidden_role = MEMBER
    created_model = Destination
    stored_as = {"org": "org.slug"}

    def make_object(self, org):
        return make_destination(org)

    def detail_url(self, obj) -> str:
        return f"{DESTINATIONS}{obj.id}/"

    def write_data(self, obj) -> dict:
        return {"name": "Renamed", "url": "https://example.com/in", "headers": {"X-Team": "north"}, "timeout": 3.5}

    def create_data(self, org) -> dict:
        return {
            "name": f"Files {org.pk}",
            "org": org.slug,
            "kind": "file",
            "store": "delivery",
            "prefix": "raw_data",
            "max_attempts": 4,
            "backoff": 2.0,
        }


@pytest.fixture
def org(db):
    return make_org()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "webhook"}, "url"),
        ({"kind": "webhook", "url": "not a url"}, "url"),
        ({"kind": "file", "store": "nowhere"}, "store"),
        ({"kind": "carrier-pigeon"}, "kind"),
        ({"kind": "webhook", "url": "https://example.com/", "headers": {"X": {"nested": 1}}}, "headers"),
        ({"kind": "webhook", "url": "https://example.com/", "timeout": 600}, "timeout"),
        ({"kind": "webhook", "url": "https://example.com/", "max_attempts": 0}, "max_attempts"),
    ],
)
def test_bad_destinations_are_400s(org, body, field):
    response = api_client(org.created_by).post(DESTINATIONS, {"name": "Bad", "org": org.slug, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not Destination.objects.exists()


def test_a_name_is_unique_in_the_org(org):
    make_destination(org, name="Lake")
    body = {"name": "Lake", "org": org.slug, "kind": "webhook", "url": "https://example.com/"}
    response = api_client(org.created_by).post(DESTINATIONS, body, format="json")
    assert response.status_code == 409
    assert Destination.objects.count() == 1


def test_the_secret_is_written_never_read(org):
    body = {"name": "Signed", "org": org.slug, "kind": "webhook", "url": "https://example.com/", "secret": "xyz"}
    response = api_client(org.created_by).post(DESTINATIONS, body, format="json")
    assert response.status_code == 201
    assert response.json()["has_secret"] is True
    assert "secret" not in response.json()
    assert Destination.objects.get().secret == "xyz"


def test_status_counts_lag_and_last_error(org):
    destination = make_destination(org)
    for number in range(4):
        deliveries_create(messages=[routed_message(org, number)])
    rows = list(destination.deliveries.order_by("id"))
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=rows[0].pk).update(status=DeliveryStatus.DELIVERED, delivered_on=timezone.now())
    Delivery.objects.filter(pk=rows[1].pk).update(status=DeliveryStatus.DEAD, last_error="HTTP 500: boom")
    Delivery.objects.filter(pk=rows[2].pk).update(
        created_on=an_hour_ago, attempts=2, last_error="ConnectionError: refused", last_attempt_at=timezone.now()
    )
    client = api_client(org.created_by)
    with assert_query_count(4):  # authentication, the destination, the counts, the last error
        response = client.get(f"{DESTINATIONS}{destination.id}/status/")
    body = response.json()
    assert (body["pending"], body["delivered"], body["dead"]) == (2, 1, 1)
    assert 3590 < body["lag_seconds"] < 3700
    assert body["last_error"] == "ConnectionError: refused"


def test_the_outbox_lists_newest_first_and_filters_by_status(org):
    destination = make_destination(org)
    messages = [routed_message(org, number) for number in range(3)]
    for message in messages:
        deliveries_create(messages=[message])
    client = api_client(org.created_by)
    rows = client.get(f"{DESTINATIONS}{destination.id}/deliveries/").json()["results"]
    assert [row["correlation_id"] for row in rows] == [m["broker_correlation_id"] for m in reversed(messages)]
    assert rows[0]["message"] == messages[-1]
    assert client.get(f"{DESTINATIONS}{destination.id}/deliveries/?status=dead").json()["count"] == 0
    assert client.get(f"{DESTINATIONS}{destination.id}/deliveries/?status=lost").status_code == 400


def test_replay_puts_dead_letters_back(org):
    destination = make_destination(org)
    for number in range(3):
        deliveries_create(messages=[routed_message(org, number)])
    first, second, _third = destination.deliveries.order_by("id")
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(status=DeliveryStatus.DEAD, attempts=8)
    client = api_client(org.created_by)
    url = f"{DESTINATIONS}{destination.id}/replay/"
    assert client.post(url, {"ids": [first.pk]}, format="json").json() == {"replayed": 1}
    first.refresh_from_db()
    assert (first.status, first.attempts) == ("pending", 0)
    assert client.post(url, {}, format="json").json() == {"replayed": 1}
    assert not destination.deliveries.filter(status="dead").exists()
    assert client.post(url, {"ids": ["x"]}, format="json").status_code == 400
    # Another organisation's owner cannot see it; a plain member cannot either.
    assert api_client(make_org().created_by).post(url, {}, format="json").status_code == 404
    assert api_client(make_member(org, MEMBER)).post(url, {}, format="json").status_code == 404
    assert api_client(make_member(org, OWNER)).post(url, {}, format="json").status_code == 200
