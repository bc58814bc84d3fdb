"""The request limits middleware: bodies over their limit, chunked bodies, and the dashboard's 413 page."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from server.apps.core.testing import api_client, make_member, make_org
from server.apps.org.roles import OWNER


def test_a_json_body_over_the_limit_is_a_413_before_authentication(db, settings):
    settings.REQUEST_MAX_BODY_BYTES = 100
    response = api_client().post("/api/v1/org/", json.dumps({"name": "x" * 200}), content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body (212 bytes) is larger than the 100 bytes allowed."}


def test_a_json_body_within_the_limit_goes_through(db, settings):
    user = make_member(make_org(), OWNER)
    settings.REQUEST_MAX_BODY_BYTES = 100
    response = api_client(user).post("/api/v1/org/", {"name": "Small"}, format="json")
    assert response.status_code == 201


def test_a_chunked_body_without_a_length_is_a_411(db):
    response = Client().post(
        "/api/v1/auth/login/", b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH=""
    )
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]


def test_a_dashboard_upload_over_the_file_limit_is_a_413_page(db, settings):
    settings.UPLOAD_MAX_FILE_BYTES = 1000
    response = Client().post("/accounts/login/", {"attachment": SimpleUploadedFile("big.bin", bytes(1001))})
    assert response.status_code == 413
    assert b"big.bin: larger than the" in response.content
    assert b"Too large" in response.content


def test_a_dashboard_body_over_the_limit_is_a_413_page(db, settings):
    settings.UPLOAD_MAX_BODY_BYTES = 1000
    response = Client().post("/accounts/login/", {"attachment": SimpleUploadedFile("big.bin", bytes(1001))})
    assert response.status_code == 413
    assert b"is larger than the" in response.content
