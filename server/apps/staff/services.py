"""Writes only staff make from the staff pages."""

from __future__ import annotations

from django.db import transaction

from server.apps.core.errors import ApplicationError
from server.apps.device.models import Device
from server.apps.device.services import device_create

MAX_BATCH = 500


@transaction.atomic(durable=True)
def devices_create_batch(
    *, created_by, count: int, label_prefix: str = "", sg: str | None = None, template: str | None = None
) -> list[Device]:
    """``count`` new unclaimed devices with the next free serial numbers, all or none. With ``label_prefix`` they
    are labelled ``<prefix> 1`` … ``<prefix> <count>``."""
    if not 1 <= count <= MAX_BATCH:
        raise ApplicationError(f"Create between 1 and {MAX_BATCH} devices at a time.", {"count": ["Out of range."]})
    label_prefix = label_prefix.strip()
    width = len(str(count))
    return [
        device_create(
            created_by=created_by,
            label=f"{label_prefix} {number:0{width}d}" if label_prefix else "",
            sg=sg,
            template=template,
        )
        for number in range(1, count + 1)
    ]
