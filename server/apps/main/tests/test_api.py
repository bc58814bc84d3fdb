"""GET server/: the clock the IOTile tools compare theirs with, served without any authentication."""

from __future__ import annotations

from datetime import UTC, datetime

import dateutil.parser
import pytest
import requests
from django.conf import settings
from rest_framework.test import APIClient

URL = "/api/v1/server/"


def _now_of(response) -> datetime:
    assert response.status_code == 200
    parsed = dateutil.parser.parse(response.json()["now"])
    assert parsed.tzinfo is not None
    assert parsed.utcoffset().total_seconds() == 0
    return parsed


@pytest.mark.parametrize("header", [None, "jwt None", "Token None", "jwt a.b.c", "Basic xyz"])
def test_server_time_needs_no_authentication(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    before = datetime.now(UTC)
    now = _now_of(client.get(URL, content_type="application/json"))
    assert before <= now <= datetime.now(UTC)


def test_server_identity():
    body = APIClient().get(URL).json()
    assert body["now"].endswith("Z")
    assert body["stage"] == settings.SERVER_STAGE
    assert body["version"] == settings.SPECTACULAR_SETTINGS["VERSION"]
    assert body["name"]


def test_makes_no_query(django_assert_max_num_queries, db):
    with django_assert_max_num_queries(0):
        assert APIClient().get(URL).status_code == 200


@pytest.mark.live
def test_check_time_style_request(live_server):
    # What IOTileCloud.check_time does: a plain GET, parsed with dateutil, compared with an aware local time.
    response = requests.get(f"{live_server.url}/api/v1/server/", timeout=10)
    delta = _now_of(response) - datetime.now(UTC)
    assert abs(delta.total_seconds()) < 300
