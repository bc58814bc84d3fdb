"""Reads on device operations, presence and unreadable messages, already scoped to a user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from server.apps.device.models import Device
from server.apps.operation.models import DeviceMessageError, DeviceOperation, DeviceServiceStatus


def operation_list(*, user: Any) -> QuerySet[DeviceOperation]:
    return DeviceOperation.objects.restrict(user, "view").select_related("device", "created_by")


def operations_for_device(*, user: Any, device: Device) -> QuerySet[DeviceOperation]:
    return operation_list(user=user).filter(device=device)


def message_errors_for_device(*, user: Any, device: Device) -> QuerySet[DeviceMessageError]:
    return DeviceMessageError.objects.restrict(user, "view").filter(device=device)


def service_statuses_for_device(*, user: Any, device: Device) -> QuerySet[DeviceServiceStatus]:
    return DeviceServiceStatus.objects.restrict(user, "view").filter(device=device)
