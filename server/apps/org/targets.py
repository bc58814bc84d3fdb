"""An organisation as a target: ``^<org-slug>``."""

from __future__ import annotations

from typing import Any

from server.apps.core.targets import ORG, TargetType, register_target
from server.apps.org.models import Org


def _lookup(value: str) -> dict[str, Any]:
    return {"slug": value[1:]}


def _slug(org: Org) -> str:
    return f"^{org.slug}"


def _itself(org: Org) -> Org:
    return org


register_target(TargetType(ORG, Org, lookup=_lookup, slug=_slug, org=_itself))
