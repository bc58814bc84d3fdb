"""Writes on accounts and their API credentials."""

from __future__ import annotations

import re
import zoneinfo

from allauth.account.models import EmailAddress
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from server.apps.authentication.authentication import jwt_encode
from server.apps.authentication.lockout import login_failure_record, login_lockout_check, login_success_record
from server.apps.authentication.models import Account
from server.apps.authentication.selectors import account_authenticate
from server.apps.core.errors import ApplicationError
from server.apps.core.services import model_update

# What an account holder may change about themselves; e-mail changes need verification and are not offered here.
ACCOUNT_EDITABLE_FIELDS = ("name", "tagline", "time_zone", "username")


def _unique_slug(base: str) -> str:
    root = slugify(base)[:140] or "user"
    slug, counter = root, 1
    while Account.objects.filter(slug=slug).exists():
        counter += 1
        slug = f"{root}-{counter}"
    return slug


def _unique_username(base: str) -> str:
    # An e-mail's local part may hold characters a username may not (' ! # ...); keep the allowed ones.
    root = re.sub(r"[^\w.@+-]", "", base or "")[:140] or "user"
    username, counter = root, 1
    while Account.objects.filter(username=username).exists():
        counter += 1
        username = f"{root}{counter}"
    return username


@transaction.atomic
def account_create(
    *,
    email: str,
    password: str | None,
    username: str = "",
    name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    email_verified: bool = False,
    **fields,
) -> Account:
    """A new account with its e-mail address recorded as its primary one, verified or not: an unverified account
    can use neither the dashboard nor the API until the address is confirmed (``ACCOUNT_EMAIL_VERIFICATION``)."""
    email = Account.objects.normalize_email(email).strip()
    username = username or _unique_username(email.split("@")[0])
    account = Account(
        email=email,
        username=username,
        slug=_unique_slug(username),
        name=name,
        is_staff=is_staff,
        is_superuser=is_superuser,
        **fields,
    )
    account.set_password(password)
    account.full_clean(exclude=["password"])
    account.save()
    EmailAddress.objects.create(user=account, email=email, primary=True, verified=email_verified)
    return account


def account_signup(*, email: str, password: str, username: str = "", name: str = "") -> Account:
    """A new account from the public sign-up (``POST account/``): unique e-mail and username, a password the
    validators accept. Its address is unverified and the confirmation e-mail goes out after the commit, as for the
    dashboard's sign-up: the account logs in (API or dashboard) once the link is followed."""
    email = Account.objects.normalize_email(email).strip()
    errors: dict[str, list[str]] = {}
    if Account.objects.filter(email__iexact=email).exists():
        errors["email"] = ["An account with this e-mail address already exists."]
    if username and Account.objects.filter(username__iexact=username).exists():
        errors["username"] = ["This username is taken."]
    try:
        password_validation.validate_password(password, Account(email=email, username=username, name=name))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            account = account_create(email=email, password=password, username=username, name=name)
            address = EmailAddress.objects.get(user=account, email=account.email)
            transaction.on_commit(lambda: address.send_confirmation(signup=True))
    except IntegrityError as exc:  # a concurrent sign-up took the e-mail or username between check and insert
        raise ApplicationError("An account with this e-mail address or username already exists.") from exc
    return account


@transaction.atomic(durable=True)
def account_update(*, account: Account, **changes) -> Account:
    unknown = set(changes) - set(ACCOUNT_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "time_zone" in changes and changes["time_zone"] not in zoneinfo.available_timezones():
        raise ValidationError({"time_zone": [f"'{changes['time_zone']}' is not a known time zone."]})
    if (
        changes.get("username")
        and Account.objects.filter(username__iexact=changes["username"]).exclude(pk=account.pk).exists()
    ):
        raise ValidationError({"username": ["This username is taken."]})
    return model_update(
        account, fields=ACCOUNT_EDITABLE_FIELDS, data=changes, clean_exclude=["password"], save_fields=changes
    )


def _revoke_api_credentials(account: Account) -> None:
    """Delete the DRF token and bump the generation every JWT carries, so all issued tokens stop working."""
    Token.objects.filter(user=account).delete()
    Account.objects.filter(pk=account.pk).update(token_generation=F("token_generation") + 1)
    account.refresh_from_db(fields=["token_generation"])


@transaction.atomic(durable=True)
def account_set_password(*, account: Account, password: str, old_password: str | None, check_old: bool = True) -> None:
    """Change the password; every API token issued before stops working.

    ``check_old`` is False only when staff set someone else's password.
    """
    if check_old and account.has_usable_password() and not account.check_password(old_password or ""):
        raise ValidationError({"old_password": ["The current password is not correct."]})
    try:
        password_validation.validate_password(password, account)
    except ValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    account.set_password(password)
    account.save(update_fields=["password"])
    _revoke_api_credentials(account)


# API credentials ---------------------------------------------------------------------------------------------------


def account_login_attempt(*, request: HttpRequest | None, email: str, password: str) -> Account | None:
    """The account these credentials name, or None; under the login lockout shared with the dashboard
    (``lockout.py``): while the account is locked, RateLimitedError (429) without checking."""
    login_lockout_check(email=email)
    account = account_authenticate(request=request, email=email, password=password)
    if account is None:
        login_failure_record(email=email)
        return None
    login_success_record(email=email)
    return account


def auth_tokens_issue(*, account: Account) -> dict[str, str]:
    """The account's DRF token (made on first use) and a fresh JWT."""
    token, _ = Token.objects.get_or_create(user=account)
    return {"token": token.key, "jwt": jwt_encode(account)}


@transaction.atomic(durable=True)
def auth_login(*, account: Account) -> dict[str, str]:
    """Record an API login by an authenticated account and hand out its tokens."""
    account.last_login = timezone.now()
    account.save(update_fields=["last_login"])
    return auth_tokens_issue(account=account)


@transaction.atomic(durable=True)
def auth_logout(*, account: Account) -> None:
    _revoke_api_credentials(account)
