"""Reads on accounts. Accounts belong to no organisation: staff see every account, everyone else only their own."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import QuerySet
from django.http import HttpRequest

from server.apps.authentication.models import Account


def account_list(*, user) -> QuerySet[Account]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Account.objects.none()
    if user.is_staff:
        return Account.objects.all()
    return Account.objects.filter(pk=user.pk)


def account_authenticate(*, email: str, password: str, request: HttpRequest | None = None) -> Account | None:
    """The active account with these credentials (e-mail compared case-insensitively), or None."""
    account = authenticate(request, email=email, username=email, password=password)
    return account if isinstance(account, Account) and account.is_active else None


def account_email_verified(*, account: Account) -> bool:
    """Whether the account may log in as far as e-mail verification goes: the dashboard's rule (allauth's), applied
    to the API too. With ``ACCOUNT_EMAIL_VERIFICATION`` "mandatory" that needs a verified address."""
    if settings.ACCOUNT_EMAIL_VERIFICATION != "mandatory":
        return True
    return EmailAddress.objects.filter(user=account, verified=True).exists()
