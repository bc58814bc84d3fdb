"""Reads on device scripts, deployments, their actions and device versions, already scoped to a user."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
    number = int(text) if text.isascii() and text.isdecimal() else None
    deployment = deployment_list(user=user).filter(pk=number).first() if number is not None else None
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


def deployment_unconfirmed_targets(*, deployment: DeploymentRequest) -> Iterator[Device]:
    """The candidates not yet confirmed that may meet the deployment's criteria by the versions they reported (a
    device that reported none may: its updater decides), read lazily in small chunks, so asking whether there is
    any costs a query or two while most devices are still to confirm, and little once few are left."""
    confirmed = DeploymentAction.objects.filter(deployment=deployment, device_confirmation=True).values("device_id")
    devices = (
        deployment_candidates(deployment=deployment)
        .exclude(pk__in=confirmed)
        .order_by("id")
        .prefetch_related("version_attributes")
    )
    criteria = parse_criteria(deployment.selection_criteria)
    for device in devices.iterator(chunk_size=50):
        if criteria_match(criteria, known_versions(device.version_attributes.all())):
            yield device


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


class CampaignState:
    """Where one device stands in a deployment."""

    CONFIRMED = "confirmed"  # the device reported the version the script installs
    APPLIED = "applied"  # its updater ran the script; waiting for the device's own version
    FAILED = "failed"  # its updater's latest attempt failed
    PENDING = "pending"  # no attempt yet
    CANCELED = "canceled"  # the deployment was canceled before any attempt
    NOT_ELIGIBLE = "not_eligible"  # its reported versions do not meet the criteria

    LABELS = {
        CONFIRMED: "Confirmed",
        APPLIED: "Applied, awaiting confirmation",
        FAILED: "Failed",
        PENDING: "Pending",
        CANCELED: "Canceled",
        NOT_ELIGIBLE: "Not eligible",
    }
    ORDER = (CONFIRMED, APPLIED, FAILED, PENDING, CANCELED, NOT_ELIGIBLE)


def _device_state(deployment: DeploymentRequest, action: DeploymentAction | None, eligible: bool) -> str:
    if action is not None and action.device_confirmation:
        return CampaignState.CONFIRMED
    if action is not None and action.attempts:
        return CampaignState.APPLIED if action.attempt_successful else CampaignState.FAILED
    if not eligible:
        return CampaignState.NOT_ELIGIBLE
    return CampaignState.CANCELED if deployment.canceled_on else CampaignState.PENDING


def deployment_campaign(*, deployment: DeploymentRequest) -> dict[str, Any]:
    """A deployment's progress, device by device (its campaign page and ``status.json``): each candidate device's
    state, latest message and time, the count per state, and the share of the devices it is for that confirmed.
    Three queries whatever the number of devices."""
    criteria = parse_criteria(deployment.selection_criteria)
    devices = list(deployment_candidates(deployment=deployment).order_by("id").prefetch_related("version_attributes"))
    actions = {action.device_id: action for action in DeploymentAction.objects.filter(deployment=deployment)}
    rows = []
    counts = dict.fromkeys(CampaignState.ORDER, 0)
    for device in devices:
        action = actions.get(device.pk)
        eligible = criteria_match(criteria, known_versions(device.version_attributes.all()))
        state = _device_state(deployment, action, eligible)
        counts[state] += 1
        lines = action.log.splitlines() if action is not None else []
        moments = [moment for moment in (action.last_attempt_on, action.confirmed_on) if moment] if action else []
        rows.append(
            {
                "device": device.slug,
                "label": device.label,
                "state": state,
                "state_label": CampaignState.LABELS[state],
                "attempts": action.attempts if action is not None else 0,
                "message": lines[-1] if lines else "",
                "updated": max(moments).isoformat() if moments else None,
            }
        )
    targets = len(devices) - counts[CampaignState.NOT_ELIGIBLE]
    progress = 100 * counts[CampaignState.CONFIRMED] / targets if targets else 0
    finished = deployment.completed_on is not None or deployment.canceled_on is not None
    if deployment.canceled_on:
        status = "Canceled"
    elif deployment.completed_on:
        status = "Completed"
    elif deployment.released_on is None or deployment.released_on > timezone.now():
        status = "Not released yet"
    else:
        status = "Running"
    return {
        "status": status,
        "done": finished,
        "progress": round(progress, 1),
        "targets": targets,
        "counts": [
            {"state": state, "label": CampaignState.LABELS[state], "count": counts[state]}
            for state in CampaignState.ORDER
        ],
        "devices": rows,
    }
