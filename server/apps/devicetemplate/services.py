"""Writes on device templates (staff)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify

from server.apps.devicetemplate.models import DeviceTemplate


def device_template_slug(external_sku: str, major: int, minor: int, patch: int) -> str:
    return f"{slugify(external_sku)}--v{major}-{minor}-{patch}"


@transaction.atomic
def device_template_create(*, created_by, external_sku: str, slug: str | None = None, **fields: Any) -> DeviceTemplate:
    template = DeviceTemplate(external_sku=external_sku, created_by=created_by, **fields)
    template.slug = slug or device_template_slug(
        external_sku, template.major_version, template.minor_version, template.patch_version
    )
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def device_template_update(template: DeviceTemplate, **fields: Any) -> DeviceTemplate:
    for key, value in fields.items():
        setattr(template, key, value)
    template.full_clean()
    template.save()
    return template
