"""Accounts through django-allauth: signup with mandatory e-mail verification, login by e-mail, password change and
reset, the adapter's username and slug rules, and social providers switched on by configuration."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from server.apps.authentication.models import Account
from server.apps.core.testing import make_user
from server.apps.main.adapters import AccountAdapter, SocialAccountAdapter

PASSWORD = "a-long-Pass-phrase-42"


# allauth counts mails per address in the cache; the root conftest empties it before each test.


def sign_up(client: Client, email: str, username: str):
    return client.post(
        reverse("account_signup"),
        {"email": email, "username": username, "password1": PASSWORD, "password2": PASSWORD},
    )


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def test_signup_sends_a_verification_mail_and_login_waits_for_it(db):
    client = Client()
    response = sign_up(client, "ada@example.com", "ada")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    account = Account.objects.get(email="ada@example.com")
    assert (account.username, account.slug) == ("ada", "ada")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[IOTile Platform] ")
    assert "IOTile Platform" in mail.outbox[0].body

    response = Client().post(reverse("account_login"), {"login": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")


def test_confirming_the_mail_lets_the_user_log_in(db):
    sign_up(Client(), "ada@example.com", "ada")
    confirm_url = link_in(mail.outbox[0])

    client = Client()
    assert client.get(confirm_url).status_code == 200
    response = client.post(confirm_url)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="ada@example.com").verified

    response = client.post(reverse("account_login"), {"login": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert client.get("/").context["user"].email == "ada@example.com"


def test_slugs_stay_unique_when_usernames_slugify_alike(db):
    sign_up(Client(), "ann1@example.com", "ann.lee")
    sign_up(Client(), "ann2@example.com", "annlee")
    slugs = set(Account.objects.filter(email__startswith="ann").values_list("slug", flat=True))
    assert slugs == {"annlee", "annlee-2"}


def test_adapter_fills_username_and_slug_for_accounts_without_them(db):
    make_user(email="grace@example.com", username="grace")
    account = Account(email="grace@elsewhere.org")
    AccountAdapter().populate_username(None, account)
    assert account.username == "grace2"
    assert account.slug == "grace2"


def test_social_adapter_takes_the_name_from_the_provider(db, rf):
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    request = rf.get("/")
    sociallogin = SocialLogin(user=Account(), account=SocialAccount(provider="github"))
    user = SocialAccountAdapter().populate_user(
        request, sociallogin, {"email": "lin@example.com", "first_name": "Lin", "last_name": "Ho"}
    )
    assert (user.email, user.name) == ("lin@example.com", "Lin Ho")


def test_password_change(db):
    user = make_user(password=PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "another-Pass-phrase-7", "password2": "another-Pass-phrase-7"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-Pass-phrase-7")


def test_password_reset_by_mail(db):
    user = make_user(email="reset@example.com", password=PASSWORD)
    client = Client()
    response = client.post(reverse("account_reset_password"), {"email": "reset@example.com"})
    assert response.status_code == 302
    reset_url = link_in(mail.outbox[0])

    form_url = client.get(reset_url)["Location"]  # the key moves from the URL into the session
    response = client.post(form_url, {"password1": "brand-New-phrase-9", "password2": "brand-New-phrase-9"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-New-phrase-9")


def test_social_providers_are_switched_on_by_configuration():
    # Settings are read once per process, so the configured variant is checked in a fresh one.
    probe = (
        "import json, django; django.setup();"
        "from django.conf import settings;"
        "from allauth.socialaccount import providers;"
        "print(json.dumps({'apps': [a for a in settings.INSTALLED_APPS if '.providers.' in a],"
        "'registered': sorted(p.id for p in providers.registry.get_class_list()),"
        "'github': settings.SOCIALACCOUNT_PROVIDERS['github']['APP']}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "server.config.settings.test",
        # Settings only: no database is touched, so none is started.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "STREAMDATA_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "SOCIAL_PROVIDERS": "github,google",
        "SOCIAL_GITHUB_CLIENT_ID": "gh-id",
        "SOCIAL_GITHUB_SECRET": "gh-secret",
        "SOCIAL_GOOGLE_CLIENT_ID": "g-id",
        "SOCIAL_GOOGLE_SECRET": "g-secret",
    }
    root = Path(settings.REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["apps"] == ["allauth.socialaccount.providers.github", "allauth.socialaccount.providers.google"]
    assert found["registered"] == ["github", "google"]
    assert found["github"] == {"client_id": "gh-id", "secret": "gh-secret", "key": ""}

    missing = {**env, "SOCIAL_PROVIDERS": "gitlab"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=root, env=missing, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SOCIAL_GITLAB_CLIENT_ID" in result.stderr
