"""The webhook action through the outbound guard (core/outbound.py): a URL the guard refuses is a 400 naming the
reason from the API and a form error from the dashboard, and saves nothing; with the real worker and real receivers,
an address refused when sending, a name that resolves to a private address, and a redirect are each a dead letter at
once with the reason, and nothing reaches the address."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, TestCase

from server.apps.core import outbound
from server.apps.core.testing import api_client
from server.apps.core.testing_http import running_receiver
from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.streamfilter.models import StreamFilter, StreamFilterAlert
from server.apps.streamfilter.services import FilterRows, filters_evaluate
from server.apps.streamfilter.tests.factories import make_filter, threshold_definition
from server.apps.worker.models import DeadLetter, QueueMessage
from server.apps.worker.runner import run_worker

pytestmark = pytest.mark.django_db


HOSTILE = [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://2130706433/hook", "127.0.0.1 is a loopback address"),
    ("http://[::ffff:10.0.0.1]/hook", "10.0.0.1 is a private address"),
    ("http://[::1]:8080/hook", "::1 is a loopback address"),
    ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
    ("ftp://example.com/hook", "only http and https"),
    ("https://user:pw@example.com/hook", "credentials"),
]


@pytest.mark.parametrize(("url", "reason"), HOSTILE)
def test_the_api_refuses_a_hostile_url_with_its_reason(settings, url, reason):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    device = make_device(make_project())
    stream = make_stream(device)
    body = {
        "name": "Hot",
        "variable": stream.variable.slug,
        **threshold_definition(high_actions=[{"type": "hook", "url": url}]),
    }
    response = api_client(device.project.org.created_by).post("/api/v1/filter/", body, format="json")
    assert response.status_code == 400, response.content
    assert reason in response.json()["states"][0]
    assert not StreamFilter.objects.exists()


def test_the_form_refuses_a_hostile_url_with_its_reason(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    device = make_device(make_project())
    stream = make_stream(device)
    client = Client()
    client.force_login(device.project.org.created_by)
    body = {
        "name": "Hot",
        "variable": stream.variable.slug,
        "initial_state": "normal",
        "states": "normal\nhigh | webhook: http://169.254.169.254/latest/meta-data/",
        "transitions": "normal -> high: gt 30",
        "active": "on",
    }
    response = client.post(f"/org/{device.org.slug}/project/{device.project.id}/filters/new/", body)
    assert response.status_code == 200
    assert "169.254.169.254 is a link-local address" in response.content.decode()
    assert not StreamFilter.objects.exists()


@pytest.fixture
def receiver():
    with running_receiver() as receiver:
        yield receiver


def _filter_posting_to(url: str):
    """A filter whose ``high`` state posts to ``url``; the stream it watches."""
    device = make_device(make_project())
    stream = make_stream(device)
    make_filter(device.project, stream.variable, high_actions=[{"type": "hook", "url": url}])
    return stream


def _enter_high(stream) -> None:
    """A reading that moves the stream to ``high``, and the worker's run."""
    rows = FilterRows(
        streams={1: stream},
        stream_keys=[1],
        streamer_local_ids=[1],
        timestamps=[datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)],
        values=[40.0],
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert len(filters_evaluate(rows=rows)) == 1
    run_worker(burst=True)


def _dead_letter() -> str:
    (letter,) = DeadLetter.objects.filter(action="StreamFilterWebhook")
    assert letter.attempts == 1
    assert not QueueMessage.objects.exists()
    assert StreamFilterAlert.objects.get().delivered_actions == []
    return letter.error


def test_an_address_refused_when_sending_is_a_dead_letter_at_once(receiver, settings):
    """The filter was saved where the receiver's loopback address was let through; it is not any more."""
    stream = _filter_posting_to(receiver.url)
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    _enter_high(stream)
    assert "127.0.0.1 is a loopback address" in _dead_letter()
    assert receiver.received == []


def test_a_name_that_resolves_to_a_private_address_is_a_dead_letter(receiver, settings, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    monkeypatch.setattr(
        outbound, "resolve", lambda host, port: [(outbound.socket.AF_INET, outbound.ipaddress.ip_address("127.0.0.1"))]
    )
    _enter_high(_filter_posting_to(f"http://alerts.example.com:{receiver.port}/hook"))
    assert "alerts.example.com resolves to 127.0.0.1" in _dead_letter()
    assert receiver.received == []


def test_a_redirect_is_not_followed(receiver):
    with running_receiver("127.0.0.2") as inner:
        receiver.status, receiver.location = 302, inner.url
        _enter_high(_filter_posting_to(receiver.url))
    assert "answered 302: redirects are not followed" in _dead_letter()
    assert len(receiver.received) == 1
    assert inner.received == []
