"""The outbound guard (core/outbound.py): hostile URLs refused at save time with their reason, and at send time the
host's resolved addresses checked before any connection, against real HTTP servers on loopback addresses."""

from __future__ import annotations

import re
import socket

import pytest

from server.apps.core import outbound
from server.apps.core.outbound import OutboundRefusedError, outbound_post, outbound_url_check
from server.apps.core.testing_http import running_receiver


@pytest.fixture
def no_private(settings):
    """Production's rule: no network beyond the public internet is let through."""
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.fixture
def receiver():
    with running_receiver() as receiver:
        yield receiver


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "only http and https"),
        ("ftp://example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https"),
        ("http://user:secret@example.com/", "credentials"),
        ("http://example.com\\@127.0.0.1/", "credentials"),
        ("http:///path", "no host"),
        ("http://example.com:0/", "port 0"),
        ("http://example.com:99999/", "not a URL"),
        ("http://[::1/", "not a URL"),
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://127.8.9.10:8000/", "loopback"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        ("http://0x7f000001/", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
        ("http://0177.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://127.1/", "127.0.0.1 is a loopback address"),
        ("http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/", "127.0.0.1 is a loopback"),  # full width
        ("http://localhost:8000/", "loopback"),
        ("http://LOCALHOST./", "loopback"),
        ("http://api.localhost/", "loopback"),
        ("http://0/", "unspecified"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://172.16.3.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "not a public address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://2852039166/", "169.254.169.254 is a link-local address"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[::1]:8000/", "::1 is a loopback address"),
        ("http://[0:0:0:0:0:0:0:1]/", "loopback"),
        ("http://[::]/", "unspecified"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address"),
        ("http://[::ffff:a9fe:a9fe]/", "169.254.169.254 is a link-local address"),
        ("http://[::a00:1]/", "carries 10.0.0.1, a private address"),
        ("http://[2002:a9fe:a9fe::]/", "carries 169.254.169.254"),
        ("http://[64:ff9b::7f00:1]/", "carries 127.0.0.1"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://[fd00:ec2::254]/", "private"),
        ("http://[fc00::1]/", "private"),
    ],
)
def test_hostile_urls_are_refused_with_their_reason(no_private, url, reason):
    with pytest.raises(OutboundRefusedError) as refused:
        outbound_url_check(url, field="hook")
    assert reason in refused.value.message
    assert refused.value.extra == {"hook": [refused.value.message]}
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://example.com:8080/in?token=abc",
        "https://8.8.8.8/",
        "https://[2001:4860:4860::8888]:443/",
        "https://hooks.example.org./x",
        "https://bücher.example/x",
    ],
)
def test_public_urls_pass(no_private, url):
    outbound_url_check(url)


def test_allowed_networks_let_exactly_those_through(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32", "fd00::/64"]
    outbound_url_check("http://127.0.0.1:8000/hook")
    outbound_url_check("http://[::ffff:127.0.0.1]/hook")
    outbound_url_check("http://[fd00::5]/hook")
    for url in ("http://127.0.0.2/", "http://10.0.0.1/", "http://[::1]/", "http://[fd00:0:0:1::5]/"):
        with pytest.raises(OutboundRefusedError):
            outbound_url_check(url)


def test_a_post_to_an_allowed_address_is_sent(receiver):
    response = outbound_post(receiver.url, data=b'{"a":1}', headers={"X-Test": "yes"}, timeout=5)
    assert response.status_code == 204
    (received,) = receiver.received
    assert (received.path, received.body, received.headers["X-Test"]) == ("/hook", b'{"a":1}', "yes")


def test_a_refused_address_is_never_reached(receiver, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(OutboundRefusedError, match="loopback"):
        outbound_post(receiver.url, data=b"{}", headers={}, timeout=5)
    assert receiver.received == []


def _resolving(monkeypatch, answers: dict[str, list[str]]) -> None:
    """The resolver answers ``answers`` for those names (the DNS an attacker controls), the real one otherwise."""
    real = outbound.resolve

    def resolve(host: str, port: int):
        if host not in answers:
            return real(host, port)
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, outbound.ipaddress.ip_address(address))
            for address in answers[host]
        ]

    monkeypatch.setattr(outbound, "resolve", resolve)


def test_a_name_that_resolves_to_a_private_address_when_sending_is_refused(receiver, settings, monkeypatch):
    """DNS rebinding: the name passed the save-time check; at send time it resolves to a loopback address."""
    url = f"http://hooks.example.com:{receiver.port}/hook"
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    outbound_url_check(url)
    _resolving(monkeypatch, {"hooks.example.com": ["127.0.0.1"]})
    refusal = "hooks.example.com resolves to 127.0.0.1: 127.0.0.1 is a loopback"
    with pytest.raises(OutboundRefusedError, match=re.escape(refusal)):
        outbound_post(url, data=b"{}", headers={}, timeout=5)
    _resolving(monkeypatch, {"hooks.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(OutboundRefusedError, match=re.escape("resolves to 10.0.0.7")):
        outbound_post(url, data=b"{}", headers={}, timeout=5)
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(receiver, monkeypatch):
    _resolving(monkeypatch, {"hooks.example.com": ["127.0.0.1"]})
    response = outbound_post(f"http://hooks.example.com:{receiver.port}/hook", data=b"{}", headers={}, timeout=5)
    assert response.status_code == 204
    assert receiver.received[0].headers["Host"] == f"hooks.example.com:{receiver.port}"


def test_redirects_are_not_followed(receiver):
    """The allowed receiver redirects to another loopback address: the answer is the 307 itself, and the second
    receiver hears nothing."""
    with running_receiver("127.0.0.2") as inner:
        receiver.status, receiver.location = 307, inner.url
        response = outbound_post(receiver.url, data=b"{}", headers={}, timeout=5)
    assert (response.status_code, response.headers["Location"]) == (307, inner.url)
    assert len(receiver.received) == 1
    assert inner.received == []


def test_an_environment_proxy_is_not_used(receiver, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("NO_PROXY", "")
    assert outbound_post(receiver.url, data=b"{}", headers={}, timeout=5).status_code == 204
