"""The Authorization header forms the clients send, and how bad ones fail: always a 401, never a 500."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework import exceptions
from rest_framework.test import APIClient

from server.apps.authentication.authentication import jwt_decode, jwt_encode, jwt_refresh, jwt_user
from server.apps.authentication.services import auth_logout, auth_tokens_issue
from server.apps.core.testing import make_user

URL = "/api/v1/auth/user-info/"


def craft(user, *, exp: datetime, logged_in: datetime | None = None, **overrides) -> str:
    payload = {
        "user_id": user.pk,
        "username": user.username,
        "email": user.email,
        "exp": exp,
        "orig_iat": int((logged_in or datetime.now(UTC)).timestamp()),
        "gen": user.token_generation,
        **overrides,
    }
    return jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")


def get_with(header: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(URL)


@pytest.mark.parametrize("prefix", ["jwt", "JWT", "Jwt", "Bearer", "bearer", "BEARER"])
def test_jwt_prefixes(db, prefix):
    user = make_user()
    response = get_with(f"{prefix} {jwt_encode(user)}")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == user.email


@pytest.mark.parametrize("prefix", ["Token", "token", "TOKEN"])
def test_drf_token_prefixes(db, prefix):
    user = make_user()
    key = auth_tokens_issue(account=user)["token"]
    response = get_with(f"{prefix} {key}")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == user.email


@pytest.mark.parametrize(
    "header",
    [
        "jwt None",
        "JWT None",
        "Bearer None",
        "jwt",
        "jwt a b",
        "jwt not.a.jwt",
        "Token None",
        "token 0123456789012345678901234567890123456789",
        "Basic dXNlcjpwYXNz",
        "jwt \u00e9t\u00e9",
        "",
    ],
)
def test_bad_headers_are_401(db, header):
    response = get_with(header)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_no_header_is_401(db):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"]


def test_expired_token_is_401(db):
    user = make_user()
    token = craft(user, exp=datetime.now(UTC) - timedelta(seconds=1))
    response = get_with(f"jwt {token}")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"].lower()


def test_token_signed_with_another_key_is_401(db):
    user = make_user()
    payload = jwt_decode(jwt_encode(user))
    forged = jwt.encode(payload, "not-the-secret-key-at-all-but-long-enough", algorithm="HS256")
    assert get_with(f"jwt {forged}").status_code == 401


@pytest.mark.parametrize(
    "overrides",
    [{"user_id": "1"}, {"user_id": None}, {"user_id": True}, {"user_id": 10**12}, {"gen": 99}, {"orig_iat": "x"}],
)
def test_odd_payloads_are_401(db, overrides):
    user = make_user()
    token = craft(user, exp=datetime.now(UTC) + timedelta(minutes=5), **overrides)
    assert get_with(f"jwt {token}").status_code == 401


def test_token_without_required_claims_is_401(db):
    user = make_user()
    token = jwt.encode(
        {"user_id": user.pk, "exp": datetime.now(UTC) + timedelta(minutes=5)}, settings.SECRET_KEY, algorithm="HS256"
    )
    assert get_with(f"jwt {token}").status_code == 401


def test_deactivated_user_is_401(db):
    user = make_user()
    token, key = jwt_encode(user), auth_tokens_issue(account=user)["token"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert get_with(f"jwt {token}").status_code == 401
    assert get_with(f"Token {key}").status_code == 401


def test_logout_revokes_every_token(db):
    user = make_user()
    token, key = jwt_encode(user), auth_tokens_issue(account=user)["token"]
    auth_logout(account=user)
    assert get_with(f"jwt {token}").status_code == 401
    assert get_with(f"Token {key}").status_code == 401
    assert get_with(f"jwt {jwt_encode(user)}").status_code == 200


def test_a_token_used_before_fails_at_once_when_revoked_or_its_account_goes(db):
    """Each process keeps the claims of tokens it has decoded; the account is still read on every request."""
    user = make_user()
    token = jwt_encode(user)
    assert get_with(f"jwt {token}").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert get_with(f"jwt {token}").json()["detail"] == "User inactive or deleted."
    user.is_active = True
    user.save(update_fields=["is_active"])
    assert get_with(f"jwt {token}").status_code == 200
    auth_logout(account=user)
    assert get_with(f"jwt {token}").json()["detail"] == "Token has been revoked; log in again."
    token = jwt_encode(user)
    assert get_with(f"jwt {token}").status_code == 200
    user.delete()
    assert get_with(f"jwt {token}").json()["detail"] == "User inactive or deleted."


def test_a_token_used_before_still_expires(db, monkeypatch):
    user = make_user()
    expires = datetime.now(UTC) + timedelta(minutes=5)
    token = craft(user, exp=expires)
    assert get_with(f"jwt {token}").status_code == 200
    monkeypatch.setattr(time, "time", lambda: expires.timestamp())
    with pytest.raises(exceptions.AuthenticationFailed, match="Signature has expired"):
        jwt_decode(token)
    monkeypatch.undo()
    assert jwt_decode(token)["user_id"] == user.pk


def test_a_token_used_before_fails_under_another_secret_key(db, settings):
    user = make_user()
    token = jwt_encode(user)
    assert get_with(f"jwt {token}").status_code == 200
    settings.SECRET_KEY = "another-secret-key-long-enough-for-hs256-0123456789"
    assert get_with(f"jwt {token}").json()["detail"] == "Invalid token."


def test_decoded_claims_are_a_copy(db):
    token = jwt_encode(make_user())
    jwt_decode(token)["gen"] = 99
    assert jwt_decode(token)["gen"] == 0


def test_session_still_works_for_the_browsable_api(db):
    user = make_user()
    client = APIClient()
    client.force_login(user)
    assert client.get(URL).status_code == 200
    assert client.get("/api/v1/account/").status_code == 200


def test_refresh_keeps_the_original_login_time(db):
    user = make_user()
    logged_in = datetime.now(UTC) - timedelta(days=30)
    token = craft(user, exp=datetime.now(UTC) + timedelta(minutes=5), logged_in=logged_in)
    refreshed = jwt_decode(jwt_refresh(token))
    assert refreshed["orig_iat"] == int(logged_in.timestamp())
    assert refreshed["exp"] > jwt_decode(token)["exp"]
    assert jwt_user(refreshed) == user


def test_refresh_after_the_limit_fails(db):
    user = make_user()
    too_old = datetime.now(UTC) - settings.JWT_AUTH["REFRESH_LIMIT"] - timedelta(seconds=10)
    token = craft(user, exp=datetime.now(UTC) + timedelta(minutes=5), logged_in=too_old)
    with pytest.raises(exceptions.AuthenticationFailed, match="Refresh has expired"):
        jwt_refresh(token)


def test_refresh_of_an_expired_token_fails(db):
    user = make_user()
    token = craft(user, exp=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(exceptions.AuthenticationFailed, match="expired"):
        jwt_refresh(token)
