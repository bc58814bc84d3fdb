"""A project as a target: ``p--…``."""

from __future__ import annotations

from typing import Any

from server.apps.core import slugs
from server.apps.core.targets import PROJECT, TargetType, register_target
from server.apps.project.models import Project


def _lookup(value: str) -> dict[str, Any]:
    return {"gid": slugs.parse_project_slug(value)}


register_target(TargetType(PROJECT, Project, lookup=_lookup, related=("org",)))
