"""Request ids, the request log line, the client's address behind proxies, and the cross-origin rules of /api/:
CORS for listed origins only and never with cookies, CSRF for session-authenticated writes."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client, RequestFactory

from server.apps.core.api.routers import api_url
from server.apps.core.middleware import client_address, content_security_policy
from server.apps.core.testing import api_client, make_user

SERVER = "/api/v1/server/"


@pytest.fixture
def allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    return "https://app.example.com"


def test_a_request_id_from_the_proxy_is_answered_and_used_as_the_correlation_id(client):
    response = client.get(SERVER, HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
    assert response["X-Correlation-ID"] == "abc123"


def test_a_client_correlation_id_is_kept_beside_the_request_id(client):
    response = client.get(SERVER, HTTP_X_REQUEST_ID="abc123", HTTP_X_CORRELATION_ID="upload-7")
    assert (response["X-Request-ID"], response["X-Correlation-ID"]) == ("abc123", "upload-7")


def test_without_an_id_or_with_a_malformed_one_a_fresh_id_is_made(client):
    first = client.get(SERVER)["X-Request-ID"]
    second = client.get(SERVER, HTTP_X_REQUEST_ID="bad id\r\nx")["X-Request-ID"]
    assert len(first) == len(second) == 32
    assert first != second


def test_the_request_line_carries_the_ids_status_and_client(client, settings, caplog):
    settings.REQUEST_LOG = True
    settings.NUM_PROXIES = 1
    with caplog.at_level(logging.INFO, logger="server.request"):
        client.get(SERVER, HTTP_X_REQUEST_ID="line-1", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5")
    [line] = [r for r in caplog.records if r.name == "server.request"]
    assert line.getMessage() == f"GET {SERVER} 200"
    assert (line.request_id, line.status, line.client) == ("line-1", 200, "203.0.113.5")


def test_no_request_line_unless_asked(client, settings, caplog):
    settings.REQUEST_LOG = False
    with caplog.at_level(logging.INFO, logger="server.request"):
        client.get(SERVER)
    assert not [r for r in caplog.records if r.name == "server.request"]


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "198.51.100.7", "10.0.0.9"),  # no trusted proxy: the header is the client's own words
        (1, "198.51.100.7, 203.0.113.5", "203.0.113.5"),  # what our nginx appended
        (2, "198.51.100.7, 203.0.113.5", "198.51.100.7"),  # a load balancer, then nginx
        (3, "203.0.113.5", "203.0.113.5"),  # fewer entries than proxies: the leftmost
        (1, "", "10.0.0.9"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(settings, proxies, forwarded, address):
    settings.NUM_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == address


def test_cors_preflight_from_a_listed_origin_is_allowed_without_credentials(client, allowed_origin):
    response = client.options(
        SERVER,
        HTTP_ORIGIN=allowed_origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == allowed_origin
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response
    answer = client.get(SERVER, HTTP_ORIGIN=allowed_origin)
    assert answer["Access-Control-Allow-Origin"] == allowed_origin
    assert "x-request-id" in answer["Access-Control-Expose-Headers"]


def test_cors_refuses_other_origins_and_pages_outside_the_api(client, allowed_origin):
    assert "Access-Control-Allow-Origin" not in client.get(SERVER, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in client.get("/", HTTP_ORIGIN=allowed_origin)


def test_a_session_write_to_the_api_needs_the_csrf_token_a_token_write_does_not(db):
    user = make_user()
    session = Client(enforce_csrf_checks=True)
    session.force_login(user)
    url = api_url("org-list")
    refused = session.post(url, {"name": "Session Org"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in json.loads(refused.content)["detail"]
    accepted = api_client(user).post(url, {"name": "Token Org"}, format="json")
    assert accepted.status_code == 201, accepted.content


def test_every_page_gets_the_content_security_policy(client):
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert client.get(SERVER)["Content-Security-Policy"] == policy


def test_only_the_api_documentation_pages_may_run_inline_scripts(client):
    for path in (api_url("api-docs"), api_url("api-redoc")):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self' 'unsafe-inline';" in policy, path
        assert "worker-src 'self' blob:" in policy


def test_the_map_tile_server_may_serve_images():
    policy = content_security_policy(map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    assert policy["img-src"] == ["'self'", "data:", "https://tiles.example.org"]
    assert content_security_policy()["img-src"] == ["'self'", "data:"]
