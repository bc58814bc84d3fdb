"""auth/ and account/ as the IOTile clients and the browsable API use them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from iotile_cloud.api.connection import Api
from iotile_cloud.api.exceptions import HttpClientError
from rest_framework.test import APIClient

from server.apps.authentication.authentication import jwt_decode, jwt_encode
from server.apps.authentication.models import Account
from server.apps.authentication.services import auth_tokens_issue
from server.apps.core.testing import api_client, assert_query_count, make_user

PASSWORD = "pass-word-123"
STRONG = "correct-horse-battery-9"
ACCOUNT_FIELDS = {"id", "slug", "email", "username", "name", "tagline", "time_zone", "is_staff", "created_at"}


def client_with(header: str | None = None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def login(client: APIClient, email: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login/", {"email": email, "password": password}, format="json")


def old_login_token(user, days: float) -> str:
    payload = jwt_decode(jwt_encode(user))
    payload["orig_iat"] = int((datetime.now(UTC) - timedelta(days=days)).timestamp())
    return jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")


# Login --------------------------------------------------------------------------------------------------------------


class TestLogin:
    def test_returns_account_and_tokens(self, db):
        user = make_user(email="ann@example.com", name="Ann")
        response = login(APIClient(), "ann@example.com")
        assert response.status_code == 200, response.content
        body = response.json()
        assert ACCOUNT_FIELDS | {"jwt", "token"} <= set(body)
        assert (body["username"], body["slug"], body["email"], body["name"]) == (
            user.username,
            user.slug,
            user.email,
            "Ann",
        )
        assert jwt_decode(body["jwt"])["user_id"] == user.pk
        assert client_with(f"jwt {body['jwt']}").get("/api/v1/account/").status_code == 200
        assert client_with(f"Token {body['token']}").get("/api/v1/account/").status_code == 200

    @pytest.mark.parametrize("header", ["jwt None", "JWT garbage", "Token None", "Bearer x.y.z"])
    def test_ignores_a_bad_authorization_header(self, db, header):
        make_user(email="ann@example.com")
        assert login(client_with(header), "ann@example.com").status_code == 200

    def test_email_is_case_insensitive(self, db):
        make_user(email="ann@example.com")
        assert login(APIClient(), "ANN@example.com").status_code == 200

    @pytest.mark.parametrize(("email", "password"), [("ann@example.com", "wrong"), ("nobody@example.com", PASSWORD)])
    def test_bad_credentials_are_401(self, db, email, password):
        make_user(email="ann@example.com")
        response = login(APIClient(), email, password)
        assert response.status_code == 401
        assert response.json()["detail"] == "Unable to log in with the provided e-mail and password."

    def test_inactive_account_is_401(self, db):
        make_user(email="ann@example.com", is_active=False)
        assert login(APIClient(), "ann@example.com").status_code == 401

    @pytest.mark.parametrize("body", [{}, {"email": "ann@example.com"}, {"password": PASSWORD}])
    def test_missing_fields_are_400(self, db, body):
        response = APIClient().post("/api/v1/auth/login/", body, format="json")
        assert response.status_code == 400
        assert set(response.json()) <= {"email", "password"}

    def test_empty_json_body_is_400(self, db):
        response = APIClient().post("/api/v1/auth/login/", b"", content_type="application/json")
        assert response.status_code == 400

    def test_malformed_json_is_400(self, db):
        response = APIClient().post("/api/v1/auth/login/", b"{not json", content_type="application/json")
        assert response.status_code == 400

    def test_without_trailing_slash_is_not_redirected(self, db):
        make_user(email="ann@example.com")
        response = APIClient().post(
            "/api/v1/auth/login", {"email": "ann@example.com", "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200

    def test_jwt_auth_returns_only_the_token(self, db):
        user = make_user(email="ann@example.com")
        response = client_with("jwt None").post(
            "/api/v1/auth/api-jwt-auth/", {"email": "ann@example.com", "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200
        assert set(response.json()) == {"token"}
        assert jwt_decode(response.json()["token"])["user_id"] == user.pk
        bad = APIClient().post(
            "/api/v1/auth/api-jwt-auth/", {"email": "ann@example.com", "password": "x"}, format="json"
        )
        assert bad.status_code == 401


# Logout, token, user-info -------------------------------------------------------------------------------------------


class TestLogout:
    def test_204_then_tokens_are_rejected(self, db):
        make_user(email="ann@example.com")
        body = login(APIClient(), "ann@example.com").json()
        client = client_with(f"jwt {body['jwt']}")
        response = client.post("/api/v1/auth/logout/", content_type="application/json")
        assert response.status_code == 204
        assert client.get("/api/v1/account/").status_code == 401
        assert client_with(f"Token {body['token']}").get("/api/v1/account/").status_code == 401
        refresh = APIClient().post("/api/v1/auth/api-jwt-refresh/", {"token": body["jwt"]}, format="json")
        assert refresh.status_code == 400

    def test_ends_a_session(self, db):
        user = make_user()
        client = APIClient(enforce_csrf_checks=False)
        client.force_login(user)
        assert client.post("/api/v1/auth/logout/").status_code == 204
        assert client.get("/api/v1/auth/user-info/").status_code == 401

    @pytest.mark.parametrize("header", [None, "jwt None"])
    def test_anonymous_is_401(self, db, header):
        assert client_with(header).post("/api/v1/auth/logout/").status_code == 401


def test_token_endpoint(db):
    user = make_user()
    response = api_client(user).get("/api/v1/auth/token/")
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == auth_tokens_issue(account=user)["token"]
    assert jwt_decode(body["jwt"])["user_id"] == user.pk
    assert client_with("jwt None").get("/api/v1/auth/token/").status_code == 401


def test_user_info(db):
    user = make_user(name="Info")
    response = client_with(f"Token {auth_tokens_issue(account=user)['token']}").get("/api/v1/auth/user-info/")
    assert response.status_code == 200
    assert set(response.json()) == ACCOUNT_FIELDS
    assert response.json()["name"] == "Info"
    assert APIClient().get("/api/v1/auth/user-info/").status_code == 401


# JWT refresh and verify ---------------------------------------------------------------------------------------------


class TestRefresh:
    url = "/api/v1/auth/api-jwt-refresh/"

    def test_gives_a_new_working_token(self, db):
        user = make_user()
        old = old_login_token(user, days=10)
        response = client_with("jwt None").post(self.url, {"token": old}, format="json")
        assert response.status_code == 200, response.content
        new = response.json()["token"]
        assert jwt_decode(new)["orig_iat"] == jwt_decode(old)["orig_iat"]
        assert client_with(f"jwt {new}").get("/api/v1/account/").status_code == 200

    def test_after_the_refresh_limit_is_400(self, db):
        user = make_user()
        limit = settings.JWT_AUTH["REFRESH_LIMIT"].days
        response = APIClient().post(self.url, {"token": old_login_token(user, days=limit + 1)}, format="json")
        assert response.status_code == 400
        assert response.json() == {"token": ["Refresh has expired."]}

    def test_expired_token_is_400(self, db):
        user = make_user()
        payload = jwt_decode(jwt_encode(user))
        payload["exp"] = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
        expired = jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")
        response = APIClient().post(self.url, {"token": expired}, format="json")
        assert response.status_code == 400
        assert "expired" in response.json()["token"][0].lower()

    @pytest.mark.parametrize("body", [{"token": "None"}, {"token": ""}, {}, {"token": "a.b.c"}])
    def test_bad_input_is_400(self, db, body):
        response = APIClient().post(self.url, body, format="json")
        assert response.status_code == 400
        assert "token" in response.json()

    def test_empty_json_body_is_400(self, db):
        assert APIClient().post(self.url, b"", content_type="application/json").status_code == 400

    def test_deactivated_user_is_400(self, db):
        user = make_user()
        token = jwt_encode(user)
        Account.objects.filter(pk=user.pk).update(is_active=False)
        assert APIClient().post(self.url, {"token": token}, format="json").status_code == 400


def test_verify(db):
    user = make_user()
    token = jwt_encode(user)
    url = "/api/v1/auth/api-jwt-verify/"
    response = client_with("jwt None").post(url, {"token": token}, format="json")
    assert (response.status_code, response.json()) == (200, {"token": token})
    assert APIClient().post(url, {"token": "None"}, format="json").status_code == 400
    assert APIClient().post(url, {}, format="json").status_code == 400


# Accounts -----------------------------------------------------------------------------------------------------------


class TestAccountList:
    url = "/api/v1/account/"

    def test_lists_only_the_requesting_user(self, db):
        user = make_user()
        make_user()
        client = api_client(user)
        with assert_query_count(3):  # the token's account, the count, the page
            response = client.get(self.url)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 1
        assert body["results"][0]["slug"] == user.slug

    def test_staff_see_everyone_paginated(self, db):
        staff = make_user(is_staff=True)
        for _ in range(4):
            make_user()
        client = api_client(staff)
        with assert_query_count(3):
            response = client.get(self.url, {"page_size": 2})
        body = response.json()
        assert body["count"] == 5
        assert len(body["results"]) == 2
        assert body["next"]

    @pytest.mark.parametrize("header", [None, "jwt None", "Token None", "jwt expired.token.here"])
    def test_bad_tokens_are_401(self, db, header):
        response = client_with(header).get(self.url, content_type="application/json")
        assert response.status_code == 401


class TestAccountDetail:
    def url(self, account) -> str:
        return f"/api/v1/account/{account.slug}/"

    def test_get_self(self, db):
        user = make_user()
        response = api_client(user).get(self.url(user))
        assert response.status_code == 200
        assert set(response.json()) == ACCOUNT_FIELDS

    def test_other_users_are_404(self, db):
        user, other = make_user(), make_user()
        client = api_client(user)
        assert client.get(self.url(other)).status_code == 404
        assert client.patch(self.url(other), {"name": "x"}, format="json").status_code == 404
        assert client.post(f"{self.url(other)}set_password/", {"password": STRONG}, format="json").status_code == 404
        other.refresh_from_db()
        assert other.name == ""

    def test_staff_see_others(self, db):
        staff, other = make_user(is_staff=True), make_user()
        assert api_client(staff).get(self.url(other)).status_code == 200

    def test_anonymous_is_401(self, db):
        user = make_user()
        assert APIClient().get(self.url(user)).status_code == 401
        assert client_with("jwt None").patch(self.url(user), {"name": "x"}, format="json").status_code == 401

    def test_patch_self(self, db):
        user = make_user()
        changes = {"name": "Zed", "tagline": "hello", "time_zone": "America/Chicago", "username": "zed"}
        response = api_client(user).patch(self.url(user), changes, format="json")
        assert response.status_code == 200, response.content
        assert {k: response.json()[k] for k in changes} == changes
        assert response.json()["slug"] == user.slug  # the public id stays put

    def test_patch_ignores_read_only_fields(self, db):
        user = make_user(email="keep@example.com")
        response = api_client(user).patch(self.url(user), {"email": "x@example.com", "is_staff": True}, format="json")
        assert response.status_code == 200
        user.refresh_from_db()
        assert (user.email, user.is_staff) == ("keep@example.com", False)

    @pytest.mark.parametrize(
        "changes", [{"time_zone": "Nowhere/Land"}, {"username": "bad name!"}, {"username": ""}, {"name": "x" * 200}]
    )
    def test_patch_bad_values_are_400(self, db, changes):
        user = make_user()
        response = api_client(user).patch(self.url(user), changes, format="json")
        assert response.status_code == 400
        assert set(response.json()) == set(changes)

    def test_patch_taken_username_is_400(self, db):
        user, other = make_user(), make_user()
        response = api_client(user).patch(self.url(user), {"username": other.username}, format="json")
        assert response.status_code == 400
        assert "username" in response.json()


class TestSignup:
    url = "/api/v1/account/"

    def body(self, **overrides):
        return {"email": "new@example.com", "username": "newbie", "password": STRONG, "name": "New Bie", **overrides}

    @pytest.mark.parametrize("header", [None, "jwt None"])
    def test_creates_an_account_that_logs_in_once_its_address_is_verified(self, db, header):
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = client_with(header).post(self.url, self.body(), format="json")
        assert response.status_code == 201, response.content
        assert set(response.json()) == ACCOUNT_FIELDS
        assert response.json()["username"] == "newbie"
        assert "password" not in response.json()
        address = EmailAddress.objects.get(email="new@example.com")
        assert (address.primary, address.verified) == (True, False)
        assert len(mail.outbox) == 1
        confirm_url = re.search(r"https?://\S+", mail.outbox[0].body).group(0)

        # The same rule as the dashboard's: no API login (nor dashboard login) before the link is followed.
        refused = login(APIClient(), "new@example.com", STRONG)
        assert refused.status_code == 403
        assert "is not verified" in refused.json()["detail"]
        dashboard = Client().post(reverse("account_login"), {"login": "new@example.com", "password": STRONG})
        assert dashboard["Location"] == reverse("account_email_verification_sent")

        assert Client().post(confirm_url).status_code == 302
        assert login(APIClient(), "new@example.com", STRONG).status_code == 200

    def test_duplicate_email_is_400(self, db):
        make_user(email="new@example.com")
        response = APIClient().post(self.url, self.body(email="NEW@example.com"), format="json")
        assert response.status_code == 400
        assert "email" in response.json()

    @pytest.mark.parametrize("password", ["short", "password", "1234567890123", "newbie12"])
    def test_weak_password_is_400(self, db, password):
        response = APIClient().post(self.url, self.body(password=password), format="json")
        assert response.status_code == 400
        assert "password" in response.json()
        assert not Account.objects.exists()

    @pytest.mark.parametrize("missing", ["email", "password"])
    def test_missing_fields_are_400(self, db, missing):
        body = self.body()
        del body[missing]
        response = APIClient().post(self.url, body, format="json")
        assert response.status_code == 400
        assert missing in response.json()

    def test_bad_email_is_400(self, db):
        response = APIClient().post(self.url, self.body(email="not-an-email"), format="json")
        assert response.status_code == 400
        assert "email" in response.json()

    def test_cannot_make_staff(self, db):
        response = APIClient().post(self.url, self.body(is_staff=True), format="json")
        assert response.status_code == 201
        assert not Account.objects.get(email="new@example.com").is_staff


class TestSetPassword:
    def url(self, account) -> str:
        return f"/api/v1/account/{account.slug}/set_password/"

    def test_self_with_old_password(self, db):
        user = make_user(email="pw@example.com")
        client = api_client(user)
        response = client.post(self.url(user), {"old_password": PASSWORD, "password": STRONG}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert client.get("/api/v1/account/").status_code == 401  # the old token is revoked
        assert client_with(f"jwt {body['jwt']}").get("/api/v1/account/").status_code == 200
        assert login(APIClient(), "pw@example.com", STRONG).status_code == 200
        assert login(APIClient(), "pw@example.com", PASSWORD).status_code == 401

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"old_password": "wrong", "password": STRONG}, "old_password"),
            ({"password": STRONG}, "old_password"),
            ({"old_password": PASSWORD, "password": "short"}, "password"),
            ({"old_password": PASSWORD}, "password"),
        ],
    )
    def test_bad_input_is_400(self, db, body, field):
        user = make_user()
        response = api_client(user).post(self.url(user), body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        user.refresh_from_db()
        assert user.check_password(PASSWORD)

    def test_staff_may_set_another_password(self, db):
        staff, other = make_user(is_staff=True), make_user()
        response = api_client(staff).post(self.url(other), {"password": STRONG}, format="json")
        assert response.status_code == 200
        assert set(response.json()) == {"detail"}
        other.refresh_from_db()
        assert other.check_password(STRONG)


# The real client against a live server ------------------------------------------------------------------------------


@pytest.mark.live
def test_iotile_cloud_api_client(live_server):
    user = make_user(email="live@example.com", password=PASSWORD)
    api = Api(domain=live_server.url)
    with pytest.raises(HttpClientError) as info:  # before login the client sends "Authorization: jwt None"
        api.account.get()
    assert info.value.response.status_code == 401
    assert api.login(email="live@example.com", password="wrong") is False
    assert api.login(email="live@example.com", password=PASSWORD) is True
    assert api.token
    accounts = api.account.get()
    assert accounts["count"] == 1
    assert accounts["results"][0]["slug"] == user.slug
    assert api.account(user.slug).get()["email"] == "live@example.com"

    first = api.token
    assert api.refresh_token() is True
    assert api.token
    assert api.token != first
    assert api.account.get()["count"] == 1

    refreshed = api.token
    api.logout()
    assert api.token is None  # the client clears its token only on a 204
    for token in (first, refreshed):
        api.set_token(token)
        with pytest.raises(HttpClientError) as info:
            api.account.get()
        assert info.value.response.status_code == 401
