"""Writes on device scripts, deployments, deployment actions and device version attributes. Managing scripts and
deployments needs ``can_manage_ota`` in their organisation; a device's updater reporting an attempt needs only to
see the deployment and the device."""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.slugs import script_slug
from server.apps.device.models import Device
from server.apps.fleet.models import Fleet
from server.apps.ota.criteria import parse_criteria
from server.apps.ota.models import (
    SCRIPT_STORE,
    DeploymentAction,
    DeploymentRequest,
    DeviceScript,
    DeviceVersionAttribute,
    VersionType,
)
from server.apps.ota.selectors import deployment_applies_to, deployment_unconfirmed_targets, device_known_versions
from server.apps.stores.services import store_file_delete, store_file_save

logger = logging.getLogger(__name__)

MAX_SCRIPT_SIZE = 64 * 1024 * 1024
_VERSION = re.compile(r"^v?(\d{1,5})\.(\d{1,5})\.(\d{1,5})$")
_SIDE_EFFECT_KEYS = {"os_tag", "os_version", "app_tag", "app_version"}


def _check_manage(user, org) -> None:
    if not user_has_org_permission(user, org, permission_for(DeviceScript, "add")):
        raise PermissionDeniedError("You may not manage software updates in this organisation.")


# Scripts ----------------------------------------------------------------------------------------------------------


def parse_script_version(text: str) -> tuple[int, int, int]:
    match = _VERSION.match(str(text).strip())
    if match is None:
        raise ApplicationError(
            f"Invalid version {text!r}.", {"version": ["Expected 'major.minor.patch', such as 1.2.0."]}
        )
    return int(match[1]), int(match[2]), int(match[3])


def _next_script_id() -> int:
    # The slug is made from the id, so take the id first rather than saving twice.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [DeviceScript._meta.db_table])
        return cursor.fetchone()[0]


def _safe_file_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit("/", 1)[-1]).strip("._")
    return base[:100] or "script.trub"


def script_create(
    *,
    user,
    org,
    name: str,
    version: str,
    content: bytes,
    file_name: str,
    notes: str = "",
    released: bool = False,
) -> DeviceScript:
    """Store the script's file in the ``apps`` store, then record it. The file is saved first: a file without its
    row is harmless, a row without its file is not."""
    _check_manage(user, org)
    major, minor, patch = parse_script_version(version)
    if not content:
        raise ApplicationError("The script file is empty.", {"file": ["The file is empty."]})
    if len(content) > MAX_SCRIPT_SIZE:
        raise ApplicationError("The script file is too large.", {"file": [f"At most {MAX_SCRIPT_SIZE} bytes."]})
    duplicate = DeviceScript.objects.filter(
        org=org, name=name, major_version=major, minor_version=minor, patch_version=patch
    )
    if duplicate.exists():
        raise _version_taken(name, version)
    script_id = _next_script_id()
    slug = script_slug(script_id)
    safe_name = _safe_file_name(file_name)
    # A new key per upload: a retry after a failure never overwrites a file another row points to.
    key = store_file_save(
        store=SCRIPT_STORE,
        key=f"scripts/{org.slug}/{slug}/{uuid.uuid4().hex}/{safe_name}",
        content=content,
        content_type="application/octet-stream",
    )
    script = DeviceScript(
        id=script_id,
        slug=slug,
        name=name,
        major_version=major,
        minor_version=minor,
        patch_version=patch,
        org=org,
        file_key=key,
        file_name=safe_name,
        file_size=len(content),
        file_sha256=hashlib.sha256(content).hexdigest(),
        notes=notes,
        released=released,
        released_on=timezone.now() if released else None,
        created_by=user,
    )
    try:
        with transaction.atomic():
            script.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent upload of the same version
        raise _version_taken(name, version) from exc
    return script


def _version_taken(name: str, version: str) -> ConflictError:
    return ConflictError(
        f"The organisation already has version {version} of script '{name}'.",
        {"version": ["This version of the script exists."]},
    )


@transaction.atomic
def script_update(
    *, script: DeviceScript, name: str | None = None, notes: str | None = None, released: bool | None = None
) -> DeviceScript:
    if name is not None and name != script.name:
        clash = DeviceScript.objects.filter(
            org=script.org_id,
            name=name,
            major_version=script.major_version,
            minor_version=script.minor_version,
            patch_version=script.patch_version,
        )
        if clash.exclude(pk=script.pk).exists():
            raise _version_taken(name, script.version)
        script.name = name
    if notes is not None:
        script.notes = notes
    if released is not None and released != script.released:
        script.released = released
        script.released_on = timezone.now() if released else None
    script.save(update_fields=["name", "notes", "released", "released_on"])
    return script


def script_delete(*, script: DeviceScript) -> None:
    """Delete a script no deployment uses; its file goes once the row is gone."""
    if script.deployments.exists():
        raise ConflictError("The script is used by deployments; delete or keep them first.")
    key = script.file_key
    with transaction.atomic():
        script.delete()
        transaction.on_commit(lambda: store_file_delete(store=SCRIPT_STORE, key=key))


# Deployments ------------------------------------------------------------------------------------------------------


def _clean_side_effect(side_effect: object) -> dict:
    if not isinstance(side_effect, dict) or not set(side_effect) <= _SIDE_EFFECT_KEYS:
        message = f"side_effect is an object with some of {', '.join(sorted(_SIDE_EFFECT_KEYS))}."
        raise ApplicationError(message, {"side_effect": [message]})
    # The same rules as criteria: a tag is a number, a version major.minor.
    parse_criteria([f"{key}:eq:{value}" for key, value in side_effect.items()])
    return {key: (int(value) if key.endswith("_tag") else str(value)) for key, value in side_effect.items()}


def deployment_create(
    *,
    user,
    script: DeviceScript,
    fleet: Fleet | None = None,
    selection_criteria: list | None = None,
    side_effect: dict | None = None,
    released_on: datetime.datetime | None = None,
) -> DeploymentRequest:
    """Deploy ``script`` to ``fleet`` (None: every device of the script's organisation). Devices see it from
    ``released_on`` on (None: not yet released)."""
    _check_manage(user, script.org)
    if fleet is not None and fleet.org_id != script.org_id:
        raise ApplicationError(
            "The fleet belongs to another organisation than the script.", {"fleet": ["Not in the script's org."]}
        )
    criteria = [str(criterion) for criterion in parse_criteria(selection_criteria or [])]
    deployment = DeploymentRequest(
        script=script,
        fleet=fleet,
        org_id=script.org_id,
        selection_criteria=criteria,
        side_effect=_clean_side_effect(side_effect or {}),
        released_on=released_on,
        created_by=user,
    )
    deployment.save()
    return deployment


@transaction.atomic
def deployment_update(
    *,
    deployment: DeploymentRequest,
    selection_criteria: list | None = None,
    side_effect: dict | None = None,
    released_on: datetime.datetime | None = None,
    completed_on: datetime.datetime | None = None,
) -> DeploymentRequest:
    if deployment.canceled_on is not None:
        raise ConflictError("The deployment was canceled.")
    if selection_criteria is not None:
        deployment.selection_criteria = [str(criterion) for criterion in parse_criteria(selection_criteria)]
    if side_effect is not None:
        deployment.side_effect = _clean_side_effect(side_effect)
    if released_on is not None:
        deployment.released_on = released_on
    if completed_on is not None:
        deployment.completed_on = completed_on
    deployment.save(update_fields=["selection_criteria", "side_effect", "released_on", "completed_on"])
    return deployment


def deployment_cancel(*, deployment: DeploymentRequest) -> DeploymentRequest:
    """Stop a deployment: devices no longer see it. Devices that updated already keep their update."""
    now = timezone.now()
    updated = DeploymentRequest.objects.filter(pk=deployment.pk, canceled_on__isnull=True).update(
        canceled_on=now, completed_on=now
    )
    deployment.refresh_from_db(fields=["canceled_on", "completed_on"])
    if updated:
        logger.info("deployment %s canceled", deployment.pk)
    return deployment


def deployment_delete(*, deployment: DeploymentRequest) -> None:
    deployment.delete()


def deployment_action_record(
    *,
    deployment: DeploymentRequest,
    device: Device,
    attempt_successful: bool,
    last_attempt_on: datetime.datetime | None = None,
    log: str = "",
) -> DeploymentAction:
    """Record an updater's attempt to apply ``deployment`` on ``device``: one action per device and deployment,
    counting the attempts and keeping the latest. The device must be one the deployment is for."""
    if not deployment_applies_to(deployment=deployment, device=device):
        raise ApplicationError(
            f"Deployment {deployment.pk} is not for device {device.slug}.",
            {"device": ["The deployment does not target this device."]},
        )
    moment = last_attempt_on or timezone.now()
    line = f"{moment:%Y-%m-%dT%H:%M:%SZ} attempt {'succeeded' if attempt_successful else 'failed'}"
    if log:
        line += f": {log[:1000]}"
    with transaction.atomic():
        action, _created = DeploymentAction.objects.select_for_update().get_or_create(
            deployment=deployment, device=device
        )
        action.attempts += 1
        action.last_attempt_on = moment
        action.attempt_successful = attempt_successful
        action.log = f"{action.log}\n{line}".strip()[-10000:]
        action.save(update_fields=["attempts", "last_attempt_on", "attempt_successful", "log"])
    return action


# Versions the devices report --------------------------------------------------------------------------------------

OS_VERSION_STREAM = 0x5C08
APP_VERSION_STREAM = 0x5C09
VERSION_STREAMS = {OS_VERSION_STREAM: VersionType.OS, APP_VERSION_STREAM: VersionType.APP}


@dataclass(frozen=True)
class VersionReading:
    """A reading of a version stream: ``value`` is ``tag | minor << 20 | major << 26``."""

    stream: int
    value: int
    reading_id: int
    timestamp: datetime.datetime

    @property
    def tag(self) -> int:
        return self.value & ((1 << 20) - 1)

    @property
    def major(self) -> int:
        return (self.value >> 26) & 0x3F

    @property
    def minor(self) -> int:
        return (self.value >> 20) & 0x3F


def device_versions_update(*, device_id: int, readings: Iterable[VersionReading]) -> list[DeviceVersionAttribute]:
    """Keep the device's OS and app versions at the latest reading of its version streams (a reading older than
    the stored one changes nothing, so running this again is harmless), then confirm the deployments whose side
    effect the device now shows. Returns the attributes that changed."""
    latest: dict[VersionType, VersionReading] = {}
    for reading in readings:
        kind = VERSION_STREAMS.get(reading.stream)
        if kind is None:
            continue
        current = latest.get(kind)
        if current is None or (reading.timestamp, reading.reading_id) > (current.timestamp, current.reading_id):
            latest[kind] = reading
    changed = []
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(pk=device_id).first()
        if device is None:
            return []
        stored = {attribute.type: attribute for attribute in DeviceVersionAttribute.objects.filter(device=device)}
        for kind, reading in latest.items():
            attribute = stored.get(kind)
            if attribute is not None and (attribute.updated_ts, attribute.streamer_local_id) >= (
                reading.timestamp,
                reading.reading_id,
            ):
                continue
            attribute, _created = DeviceVersionAttribute.objects.update_or_create(
                device=device,
                type=kind,
                defaults={
                    "tag": reading.tag,
                    "major_version": reading.major,
                    "minor_version": reading.minor,
                    "streamer_local_id": reading.reading_id,
                    "updated_ts": reading.timestamp,
                },
            )
            changed.append(attribute)
        if changed:
            deployments_confirm(device=device)
    return changed


def _side_effect_shown(side_effect: dict, known: dict) -> bool:
    if not side_effect:
        return False
    # A tag must be the one the script installs; a version at least the one it installs.
    texts = [f"{key}:{'eq' if key.endswith('_tag') else 'gte'}:{value}" for key, value in side_effect.items()]
    criteria = parse_criteria(texts)
    return all(criterion.matches(known.get(criterion.attribute)) for criterion in criteria)


def deployments_confirm(*, device: Device) -> list[DeploymentAction]:
    """Confirm the open deployments for ``device`` whose side effect its reported versions show (making the action
    when its updater never reported one), and complete a deployment once every device it is for has confirmed."""
    if device.org_id is None:
        return []
    known = device_known_versions(device=device)
    open_deployments = DeploymentRequest.objects.filter(
        org_id=device.org_id, released_on__isnull=False, completed_on__isnull=True, canceled_on__isnull=True
    ).exclude(side_effect={})
    confirmed = []
    now = timezone.now()
    for deployment in open_deployments.select_related("fleet"):
        if not deployment_applies_to(deployment=deployment, device=device):
            continue
        if not _side_effect_shown(deployment.side_effect, known):
            continue
        action, _created = DeploymentAction.objects.get_or_create(deployment=deployment, device=device)
        if action.device_confirmation:
            continue
        action.device_confirmation = True
        action.confirmed_on = now
        action.log = f"{action.log}\n{now:%Y-%m-%dT%H:%M:%SZ} confirmed by the device's version".strip()
        action.save(update_fields=["device_confirmation", "confirmed_on", "log"])
        confirmed.append(action)
        _complete_when_done(deployment, now)
    return confirmed


def _complete_when_done(deployment: DeploymentRequest, now: datetime.datetime) -> None:
    if next(deployment_unconfirmed_targets(deployment=deployment), None) is not None:
        return
    DeploymentRequest.objects.filter(pk=deployment.pk, completed_on__isnull=True).update(completed_on=now)
    logger.info("deployment %s completed: every device it is for confirmed", deployment.pk)
