"""Writes on sensor graphs (staff)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify

from server.apps.sensorgraph.models import SensorGraph


def sensorgraph_slug(name: str, major: int, minor: int, patch: int) -> str:
    return f"{slugify(name)}--v{major}-{minor}-{patch}"


@transaction.atomic
def sensorgraph_create(*, created_by, name: str, slug: str | None = None, **fields: Any) -> SensorGraph:
    sg = SensorGraph(name=name, created_by=created_by, **fields)
    sg.slug = slug or sensorgraph_slug(name, sg.major_version, sg.minor_version, sg.patch_version)
    sg.full_clean()
    sg.save()
    return sg


@transaction.atomic
def sensorgraph_update(sg: SensorGraph, **fields: Any) -> SensorGraph:
    for key, value in fields.items():
        setattr(sg, key, value)
    sg.full_clean()
    sg.save()
    return sg
