"""Reads on device uploads, scoped to the user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from server.apps.deviceupload.models import DeviceUpload, UploadSchedule


def upload_list(*, user: Any) -> QuerySet[DeviceUpload]:
    return DeviceUpload.objects.restrict(user, "view").select_related("device", "operation", "trigger")


def upload_schedule_list(*, user: Any) -> QuerySet[UploadSchedule]:
    return UploadSchedule.objects.restrict(user, "view").select_related("device", "fleet")
