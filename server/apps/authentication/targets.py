"""An account as a target: ``@<user-slug>``, visible to itself and to staff only."""

from __future__ import annotations

from typing import Any

from server.apps.authentication.models import Account
from server.apps.core.targets import USER, TargetType, register_target


def _lookup(value: str) -> dict[str, Any]:
    return {"slug": value[1:]}


def _find(*, user: Any, value: str, action: str) -> Account | None:
    """Oneself without a query; anyone for staff; no one else."""
    if user.is_authenticated and user.slug == value[1:]:
        return user
    if user.is_staff:
        return Account.objects.filter(**_lookup(value)).first()
    return None


def _slug(account: Account) -> str:
    return f"@{account.slug}"


def _no_org(account: Account) -> None:
    return None


register_target(TargetType(USER, Account, lookup=_lookup, slug=_slug, org=_no_org, find=_find))
