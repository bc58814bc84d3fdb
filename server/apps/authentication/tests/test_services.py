from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from server.apps.authentication.models import Account
from server.apps.authentication.selectors import account_authenticate, account_list
from server.apps.authentication.services import (
    account_set_password,
    account_signup,
    account_update,
    auth_login,
    auth_logout,
    auth_tokens_issue,
)
from server.apps.core.errors import ApplicationError
from server.apps.core.testing import make_user

STRONG = "correct-horse-battery-9"


def test_signup_creates_an_account(db):
    account = account_signup(email="Ada@Example.COM", password=STRONG, username="ada", name="Ada L")
    assert (account.email, account.username, account.slug, account.name) == ("Ada@example.com", "ada", "ada", "Ada L")
    assert account.check_password(STRONG)
    assert not account.is_staff


def test_signup_derives_a_username(db):
    first = account_signup(email="sam@example.com", password=STRONG)
    second = account_signup(email="sam@example.org", password=STRONG)
    assert first.username == "sam"
    assert second.username == "sam2"
    assert first.slug != second.slug


def test_derived_username_keeps_only_allowed_characters(db):
    assert account_signup(email="o'brien!x@example.com", password=STRONG).username == "obrienx"
    assert account_signup(email="!!!@example.com", password=STRONG).username == "user"


def test_signup_refuses_a_known_email_in_any_case(db):
    make_user(email="bob@example.com")
    with pytest.raises(ValidationError) as info:
        account_signup(email="BOB@example.com", password=STRONG)
    assert "email" in info.value.message_dict
    assert Account.objects.count() == 1


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "carol@example.com"])
def test_signup_validates_the_password(db, password):
    with pytest.raises(ValidationError) as info:
        account_signup(email="carol@example.com", password=password, username="carol")
    assert "password" in info.value.message_dict
    assert not Account.objects.exists()


def test_signup_refuses_a_taken_or_bad_username(db):
    make_user(username="dave")
    with pytest.raises(ValidationError) as info:
        account_signup(email="dave@example.org", password=STRONG, username="Dave")
    assert "username" in info.value.message_dict
    with pytest.raises(ValidationError):
        account_signup(email="dave2@example.org", password=STRONG, username="dave two!")


def test_update_changes_the_editable_fields(db):
    user = make_user()
    account_update(account=user, name="New", tagline="Hi", time_zone="Europe/Paris", username="newname")
    user.refresh_from_db()
    assert (user.name, user.tagline, user.time_zone, user.username) == ("New", "Hi", "Europe/Paris", "newname")


def test_update_refuses_bad_values(db):
    user = make_user()
    other = make_user(username="taken")
    with pytest.raises(ValidationError):
        account_update(account=user, time_zone="Mars/Olympus")
    with pytest.raises(ValidationError):
        account_update(account=user, username=other.username.upper())
    with pytest.raises(ApplicationError):
        account_update(account=user, email="x@example.com")
    user.refresh_from_db()
    assert user.time_zone == "UTC"


def test_set_password_checks_the_old_one_and_revokes_tokens(db):
    user = make_user(password="pass-word-123")
    auth_tokens_issue(account=user)
    generation = user.token_generation
    with pytest.raises(ValidationError) as info:
        account_set_password(account=user, password=STRONG, old_password="wrong")
    assert "old_password" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        account_set_password(account=user, password="short", old_password="pass-word-123")
    assert "password" in info.value.message_dict
    account_set_password(account=user, password=STRONG, old_password="pass-word-123")
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert user.token_generation == generation + 1
    assert not Token.objects.filter(user=user).exists()


def test_set_password_without_the_old_one_when_staff_sets_it(db):
    user = make_user()
    account_set_password(account=user, password=STRONG, old_password=None, check_old=False)
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_tokens_keep_the_drf_key_and_login_records_the_time(db):
    user = make_user()
    first = auth_tokens_issue(account=user)
    assert auth_login(account=user)["token"] == first["token"]
    user.refresh_from_db()
    assert user.last_login is not None


def test_logout_deletes_the_drf_token_and_bumps_the_generation(db):
    user = make_user()
    key = auth_tokens_issue(account=user)["token"]
    auth_logout(account=user)
    assert user.token_generation == 1
    assert not Token.objects.filter(key=key).exists()
    auth_logout(account=user)  # logging out twice is harmless
    assert user.token_generation == 2


def test_authenticate_by_email(db):
    user = make_user(email="erin@example.com", password="pass-word-123")
    assert account_authenticate(email="erin@example.com", password="pass-word-123") == user
    assert account_authenticate(email="ERIN@example.com", password="pass-word-123") == user
    assert account_authenticate(email="erin@example.com", password="nope") is None
    assert account_authenticate(email="nobody@example.com", password="pass-word-123") is None
    user.is_active = False
    user.save()
    assert account_authenticate(email="erin@example.com", password="pass-word-123") is None


def test_account_list_scoping(db):
    user, other = make_user(), make_user()
    staff = make_user(is_staff=True)
    assert list(account_list(user=user)) == [user]
    assert set(account_list(user=staff)) == {user, other, staff}
    other.is_active = False
    assert list(account_list(user=other)) == []
