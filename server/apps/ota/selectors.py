"""Reads on device scripts, deployments, their actions and device versions, already scoped to a user."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from server.apps.core.errors import ApplicationError
from server.apps.core.slugs import SlugError, parse_script_slug, script_slug
from server.apps.device.models import Device
from server.apps.fleet.selectors import device_fleet_ids, fleet_members
from server.apps.ota.criteria import criteria_match, parse_criteria
from server.apps.ota.models import (
    DeploymentAction,
    DeploymentRequest,
    DeviceScript,
    DeviceVersionAttribute,
    VersionType,
)


def script_list(*, user, action: str = "view") -> QuerySet[DeviceScript]:
    return DeviceScript.objects.restrict(user, action).select_related("org", "created_by")


def script_lookup(value: str | int) -> dict:
    """Filter keywords for a script named by its ``z--`` slug in any lenient form; raises ``SlugError``."""
    return {"slug": script_slug(parse_script_slug(value))}


def visible_script(*, user, value: str, field: str = "script") -> DeviceScript:
    """A script named by a body field: malformed, unknown and out of scope are the same 400."""
    try:
        lookup = script_lookup(value)
    except SlugError as exc:
        raise ApplicationError(str(exc), {field: [str(exc)]}) from exc
    script = script_list(user=user).filter(**lookup).first()
    if script is None:
        raise ApplicationError(f"Unknown script '{value}'.", {field: [f"Unknown script: {value}."]})
    return script


def deployment_list(*, user, action: str = "view") -> QuerySet[DeploymentRequest]:
    return DeploymentRequest.objects.restrict(user, action).select_related("script", "fleet", "org", "created_by")


def visible_deployment(*, user, value: Any, field: str = "deployment") -> DeploymentRequest:
    """A deployment named by its id in a body field: malformed, unknown and out of scope are the same 400."""
    text = str(value).strip()
    deployment = deployment_list(user=user).filter(pk=int(text)).first() if text.isdecimal() else None
    if deployment is None:
        raise ApplicationError(f"Unknown deployment '{value}'.", {field: [f"Unknown deployment: {value}."]})
    return deployment


def action_list(*, user) -> QuerySet[DeploymentAction]:
    return DeploymentAction.objects.restrict(user, "view").select_related("deployment", "device")


def version_list(*, user) -> QuerySet[DeviceVersionAttribute]:
    return DeviceVersionAttribute.objects.restrict(user, "view").select_related("device")


def known_versions(attributes: Iterable[DeviceVersionAttribute]) -> dict[str, Any]:
    """The attributes as selection criteria read them: ``{"os_tag": 1024, "os_version": (2, 1, 0), …}``."""
    known: dict[str, Any] = {}
    for attribute in attributes:
        prefix = "os" if attribute.type == VersionType.OS else "app"
        known[f"{prefix}_tag"] = attribute.tag
        known[f"{prefix}_version"] = (attribute.major_version, attribute.minor_version, 0)
    return known


def device_known_versions(*, device: Device) -> dict[str, Any]:
    return known_versions(DeviceVersionAttribute.objects.filter(device=device))


def deployment_candidates(*, deployment: DeploymentRequest) -> QuerySet[Device]:
    """The devices a deployment goes to, before its criteria: the fleet's current members, or every device of the
    organisation when it names no fleet."""
    fleet = deployment.fleet
    if fleet is None:
        return Device.objects.filter(org_id=deployment.org_id)
    return Device.objects.filter(pk__in=fleet_members(fleet=fleet).values("device_id"), org_id=deployment.org_id)


def deployment_applies_to(*, deployment: DeploymentRequest, device: Device) -> bool:
    return deployment_candidates(deployment=deployment).filter(pk=device.pk).exists()


def deployment_targets(*, deployment: DeploymentRequest, device_ids: Iterable[int] | None = None) -> list[Device]:
    """The candidates that may meet the deployment's criteria by the versions they reported (a device that
    reported none may: its updater decides). Two queries; ``device_ids`` narrows the candidates."""
    devices = deployment_candidates(deployment=deployment).order_by("id")
    if device_ids is not None:
        devices = devices.filter(pk__in=list(device_ids))
    devices = devices.prefetch_related("version_attributes")
    criteria = parse_criteria(deployment.selection_criteria)
    return [device for device in devices if criteria_match(criteria, known_versions(device.version_attributes.all()))]


def device_deployments(*, device: Device) -> QuerySet[DeploymentRequest]:
    """The deployments the device's updater should consider (``ota/device/<d>/``): released, neither completed nor
    canceled, for a fleet the device is in (or for its whole organisation), and not yet applied on it."""
    if device.org_id is None:
        return DeploymentRequest.objects.none()
    done = DeploymentAction.objects.filter(device=device).filter(
        Q(attempt_successful=True) | Q(device_confirmation=True)
    )
    return (
        DeploymentRequest.objects.filter(
            org_id=device.org_id,
            released_on__lte=timezone.now(),
            completed_on__isnull=True,
            canceled_on__isnull=True,
        )
        .filter(Q(fleet__isnull=True) | Q(fleet_id__in=device_fleet_ids(device_id=device.pk)))
        .exclude(pk__in=done.values("deployment_id"))
        .select_related("script", "fleet", "org")
        .order_by("released_on", "id")
    )
