"""Writes on device templates and components (staff: the catalog views allow nobody else)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from server.apps.core.errors import ApplicationError, ConflictError
from server.apps.core.services import editable_fields, model_update
from server.apps.devicetemplate.models import Component, DeviceSlot, DeviceTemplate

# What the update services let a caller change.
COMPONENT_FIELDS = editable_fields(Component)
DEVICE_TEMPLATE_FIELDS = editable_fields(DeviceTemplate)


def versioned_slug(sku: str, major: int, minor: int, patch: int) -> str:
    """``versioned_slug("POD-1M", 1, 0, 0) == "pod-1m--v1-0-0"``."""
    return f"{slugify(sku)}--v{major}-{minor}-{patch}"


# Components ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def component_create(*, created_by, external_sku: str, slug: str | None = None, **fields: Any) -> Component:
    component = Component(external_sku=external_sku, created_by=created_by, **fields)
    component.slug = slug or versioned_slug(
        external_sku, component.major_version, component.minor_version, component.patch_version
    )
    component.full_clean()
    component.save()
    return component


@transaction.atomic(durable=True)
def component_update(*, component: Component, **fields: Any) -> Component:
    return model_update(component, fields=COMPONENT_FIELDS, data=fields)


@transaction.atomic(durable=True)
def component_delete(*, component: Component) -> None:
    used_by = list(DeviceTemplate.objects.filter(slots__component=component).values_list("slug", flat=True))
    if used_by:
        raise ConflictError(
            f"Component {component.slug} is used by device templates {', '.join(sorted(set(used_by)))}.",
            {"templates": sorted(set(used_by))},
        )
    component.delete()


# Device templates ---------------------------------------------------------------------------------------------------


def _set_slots(template: DeviceTemplate, slots: Iterable[Mapping[str, Any]]) -> None:
    """Replace the template's slots by ``[{"number": 0, "component": <slug>}, …]``."""
    slots = list(slots)
    numbers = [slot["number"] for slot in slots]
    if len(numbers) != len(set(numbers)):
        raise ApplicationError("Each slot number may appear once.", {"slots": ["Duplicate slot number."]})
    wanted = {slot["component"] for slot in slots}
    components = {c.slug: c for c in Component.objects.filter(slug__in=wanted)}
    unknown = sorted(wanted - set(components))
    if unknown:
        raise ApplicationError(
            f"Unknown components: {', '.join(unknown)}.", {"slots": [f"Unknown component: {s}." for s in unknown]}
        )
    template.slots.all().delete()
    DeviceSlot.objects.bulk_create(
        DeviceSlot(template=template, number=slot["number"], component=components[slot["component"]]) for slot in slots
    )


@transaction.atomic
def device_template_create(
    *,
    created_by,
    external_sku: str,
    slug: str | None = None,
    slots: Iterable[Mapping[str, Any]] = (),
    **fields: Any,
) -> DeviceTemplate:
    """A device template; ``slots`` lists its components: ``[{"number": 0, "component": "<slug>"}]``."""
    template = DeviceTemplate(external_sku=external_sku, created_by=created_by, **fields)
    template.slug = slug or versioned_slug(
        external_sku, template.major_version, template.minor_version, template.patch_version
    )
    template.full_clean()
    template.save()
    _set_slots(template, slots)
    return template


@transaction.atomic(durable=True)
def device_template_update(
    *, template: DeviceTemplate, slots: Iterable[Mapping[str, Any]] | None = None, **fields: Any
) -> DeviceTemplate:
    """Change a template; ``slots``, when given, replaces all its slots."""
    model_update(template, fields=DEVICE_TEMPLATE_FIELDS, data=fields)
    if slots is not None:
        _set_slots(template, slots)
    return template
