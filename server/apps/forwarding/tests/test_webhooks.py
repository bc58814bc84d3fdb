"""Webhook destinations through the outbound guard (core/outbound.py): a URL the guard refuses is a 400 naming the
reason from the API (create and change) and a form error from the dashboard, and saves nothing; when sending, with
the real worker and real receivers, an address refused, a name that resolves to a private address and a redirect
are failed deliveries with the reason, the refusals dead letters at once (no retries), and nothing reaches the
address."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core import outbound
from server.apps.core.testing import api_client, make_org
from server.apps.core.testing_http import running_receiver
from server.apps.forwarding.models import DeliveryStatus, Destination
from server.apps.forwarding.services import deliveries_create
from server.apps.forwarding.tests.factories import make_destination, routed_message
from server.apps.worker.models import QueueMessage
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db

DESTINATIONS = "/api/v1/destination/"

HOSTILE = [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://2130706433/hook", "127.0.0.1 is a loopback address"),
    ("http://0x7f.1/hook", "127.0.0.1 is a loopback address"),
    ("http://[::1]:8080/hook", "::1 is a loopback address"),
    ("http://[::ffff:192.168.0.1]/hook", "192.168.0.1 is a private address"),
    ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
    ("http://localhost:9/hook", "loopback"),
    ("http://10.20.30.40/hook", "10.20.30.40 is a private address"),
    ("https://user:pw@example.com/hook", "credentials"),
]


@pytest.fixture
def no_private(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(("url", "reason"), HOSTILE)
def test_the_api_refuses_a_hostile_url_with_its_reason(no_private, url, reason):
    org = make_org()
    body = {"name": "Hook", "org": org.slug, "kind": "webhook", "url": url}
    response = api_client(org.created_by).post(DESTINATIONS, body, format="json")
    assert response.status_code == 400, response.content
    assert reason in response.json()["url"][0]
    assert not Destination.objects.exists()


def test_a_change_to_a_hostile_url_is_refused_and_changes_nothing(no_private):
    org = make_org()
    destination = make_destination(org, url="https://example.com/hook")
    response = api_client(org.created_by).patch(
        f"{DESTINATIONS}{destination.id}/", {"url": "http://[fd00:ec2::254]/"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "fd00:ec2::254 is a private address" in response.json()["url"][0]
    destination.refresh_from_db()
    assert destination.url == "https://example.com/hook"


def test_the_form_refuses_a_hostile_url_with_its_reason(no_private):
    org = make_org()
    client = Client()
    client.force_login(org.created_by)
    body = {"name": "Hook", "kind": "webhook", "url": "http://169.254.169.254/latest/meta-data/", "headers": "{}"}
    response = client.post(reverse("forwarding:create", kwargs={"org_slug": org.slug}), body)
    assert response.status_code == 200
    assert "169.254.169.254 is a link-local address" in response.content.decode()
    assert not Destination.objects.exists()


@pytest.fixture
def receiver():
    with running_receiver() as receiver:
        yield receiver


def _send(destination, count: int = 2) -> list[tuple[str, int, str]]:
    """Route ``count`` messages to the destination's organisation and run the worker: each row's status, attempts
    and last error."""
    for number in range(count):
        deliveries_create(messages=[routed_message(destination.org, number)])
    run_worker(burst=True)
    return list(destination.deliveries.order_by("id").values_list("status", "attempts", "last_error"))


def test_an_address_refused_when_sending_is_a_dead_letter_at_once(receiver, no_private):
    """The destination was saved where the receiver's loopback address was let through; it is not any more."""
    destination = make_destination(make_org(), url=receiver.url, max_attempts=8)
    rows = _send(destination)
    assert [(status, attempts) for status, attempts, _ in rows] == [(DeliveryStatus.DEAD, 1)] * 2
    assert all("127.0.0.1 is a loopback address" in error for _, _, error in rows)
    assert not QueueMessage.objects.filter(action="DeliverDestination").exists()
    assert receiver.received == []


def test_a_name_that_resolves_to_a_private_address_is_refused_when_sending(receiver, no_private, monkeypatch):
    """DNS rebinding: the name passed the save-time check and resolves to a loopback address when sending."""
    org = make_org()
    response = api_client(org.created_by).post(
        DESTINATIONS,
        {"name": "Hook", "org": org.slug, "kind": "webhook", "url": f"http://hooks.example.com:{receiver.port}/in"},
        format="json",
    )
    assert response.status_code == 201, response.content
    monkeypatch.setattr(
        outbound, "resolve", lambda host, port: [(outbound.socket.AF_INET, outbound.ipaddress.ip_address("127.0.0.1"))]
    )
    rows = _send(Destination.objects.get(), count=1)
    assert rows == [
        (
            DeliveryStatus.DEAD,
            1,
            "refused: hooks.example.com resolves to 127.0.0.1: 127.0.0.1 is a loopback address; "
            "outbound requests go to public addresses only",
        )
    ]
    assert receiver.received == []


def test_a_redirect_is_not_followed(receiver):
    with running_receiver("127.0.0.2") as inner:
        receiver.status, receiver.location = 307, inner.url
        rows = _send(make_destination(make_org(), url=receiver.url), count=1)
    assert rows == [(DeliveryStatus.PENDING, 1, "HTTP 307: redirects are not followed")]
    assert len(receiver.received) == 1
    assert inner.received == []
