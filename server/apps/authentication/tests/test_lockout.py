"""The login lockout, shared by the API's login endpoints and the dashboard's login form, and the account policy:
e-mail verification means the same on both, and ``createsuperuser`` makes a verified account."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from server.apps.authentication.models import Account
from server.apps.core.testing import make_user

PASSWORD = "pass-word-123"


def api_login(email: str, password: str, url: str = "/api/v1/auth/login/"):
    return APIClient().post(url, {"email": email, "password": password}, format="json")


def dashboard_login(email: str, password: str, client: Client | None = None):
    return (client or Client()).post(reverse("account_login"), {"login": email, "password": password})


def test_fifteen_wrong_passwords_then_the_right_one_is_refused(db, settings):
    user = make_user()
    answers = [api_login(user.email, f"wrong-{n}").status_code for n in range(15)]
    assert answers[: settings.LOGIN_FAILURE_LIMIT] == [401] * settings.LOGIN_FAILURE_LIMIT
    assert set(answers[settings.LOGIN_FAILURE_LIMIT :]) == {429}

    refused = api_login(user.email, PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.LOGIN_LOCKOUT_SECONDS
    assert refused.json() == {"detail": "Too many failed logins: logins are locked for a while. Try again later."}
    assert "jwt" not in refused.json()
    # The JWT login endpoint and the dashboard are locked too.
    assert api_login(user.email, PASSWORD, url="/api/v1/auth/api-jwt-auth/").status_code == 429
    page = dashboard_login(user.email, PASSWORD)
    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    assert b"Too many failed logins" in page.content
    # Another account is not locked.
    assert api_login(make_user().email, PASSWORD).status_code == 200


def test_failures_on_the_dashboard_lock_the_api(db, settings):
    user = make_user()
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        assert dashboard_login(user.email, f"wrong-{n}").status_code == 200  # the form again, with its error
    assert api_login(user.email.upper(), PASSWORD).status_code == 429  # e-mails compared case-insensitively


def test_a_good_login_clears_the_accounts_count(db, settings):
    user = make_user()
    for round_ in range(3):
        for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
            assert api_login(user.email, f"wrong-{round_}-{n}").status_code == 401
        assert api_login(user.email, PASSWORD).status_code == 200


def test_failures_for_other_accounts_do_not_lock_an_account(db, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT * 2):
        assert api_login(f"nobody{n}@example.com", "x").status_code == 401
    assert api_login(make_user().email, PASSWORD).status_code == 200


def test_login_throttle_per_address(db, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "3/m", "anon": None}}
    user = make_user()
    assert [api_login(user.email, PASSWORD).status_code for _ in range(3)] == [200] * 3
    throttled = api_login(user.email, PASSWORD)
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60


def test_allauths_own_rate_limits_answer_429_with_retry_after(db, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": None, "reset_password": "1/m/ip"}
    client = Client()
    assert client.post(reverse("account_reset_password"), {"email": "a@example.com"}).status_code == 302
    refused = client.post(reverse("account_reset_password"), {"email": "b@example.com"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert b"Too many attempts" in refused.content


# One account policy ------------------------------------------------------------------------------------------------


def test_createsuperuser_makes_a_verified_account_for_the_api_and_the_dashboard(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-Pass-phrase-42")
    call_command("createsuperuser", "--noinput", email="root@example.com", verbosity=0)
    account = Account.objects.get(email="root@example.com")
    assert account.is_superuser
    assert account.emailaddress_set.get().verified
    assert api_login("root@example.com", "a-long-Pass-phrase-42").status_code == 200
    page = dashboard_login("root@example.com", "a-long-Pass-phrase-42")
    assert page["Location"] == "/"


@pytest.mark.parametrize("url", ["/api/v1/auth/login/", "/api/v1/auth/api-jwt-auth/"])
def test_an_unverified_account_cannot_log_in_to_the_api(db, url):
    user = make_user(email_verified=False)
    refused = api_login(user.email, PASSWORD, url=url)
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith(f"The e-mail address {user.email} is not verified")
    assert dashboard_login(user.email, PASSWORD)["Location"] == reverse("account_email_verification_sent")
