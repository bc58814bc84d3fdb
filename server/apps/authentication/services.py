"""Writes on accounts."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from server.apps.authentication.models import Account


def _unique_slug(base: str) -> str:
    root = slugify(base)[:140] or "user"
    slug, counter = root, 1
    while Account.objects.filter(slug=slug).exists():
        counter += 1
        slug = f"{root}-{counter}"
    return slug


def _unique_username(base: str) -> str:
    root = (base or "user")[:140]
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
    **fields,
) -> Account:
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
    return account
