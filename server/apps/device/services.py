"""Writes on devices: creation (staff), edits, claiming into a project and unclaiming out of it, replacing a device
in the field (aliases keep its series continuous) and resetting it after its data was archived."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from server.apps.core import targets
from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.lookups import device_id_from
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.services import model_update
from server.apps.core.slugs import SlugError, device_slug
from server.apps.device.models import Device, DeviceState
from server.apps.deviceauth.services import device_claim_key_check
from server.apps.devicetemplate.models import DeviceTemplate
from server.apps.sensorgraph.models import SensorGraph
from server.apps.sensorgraph.services import sensorgraph_device_streams_create
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.stream.services import device_streams_create, streams_delete
from server.apps.streamalias.models import StreamAlias, StreamAliasTap
from server.apps.streamalias.services import alias_create, alias_tap_create

# Fields any user allowed to modify the device may change; the template needs staff (and ?staff=1).
EDITABLE_FIELDS = ("label", "lat", "lon", "external_id", "active")
MAX_CLAIMABLE_SLUGS = 1000


def _sensor_graph(slug: str | None) -> SensorGraph | None:
    if not slug:
        return None
    sg = SensorGraph.objects.filter(slug=slug).first()
    if sg is None:
        raise ApplicationError(f"Unknown sensor graph '{slug}'.", {"sg": [f"Unknown sensor graph: {slug}."]})
    return sg


def _template(slug: str | None) -> DeviceTemplate | None:
    if not slug:
        return None
    template = DeviceTemplate.objects.filter(slug=slug).first()
    if template is None:
        raise ApplicationError(
            f"Unknown device template '{slug}'.", {"template": [f"Unknown device template: {slug}."]}
        )
    return template


def _next_device_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Device._meta.db_table])
        return cursor.fetchone()[0]


def _advance_device_id_sequence(device_id: int) -> None:
    """After an explicit serial number, keep the sequence above it so later devices never collide."""
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Device._meta.db_table)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(%s, (SELECT MAX(id) FROM {table})))",
            [Device._meta.db_table, device_id],
        )


@transaction.atomic
def device_create(
    *,
    created_by,
    id: int | None = None,
    label: str = "",
    sg: str | None = None,
    template: str | None = None,
    external_id: str = "",
) -> Device:
    """A new, unclaimed device (staff only). ``id`` is its serial number; without one it gets the next free id."""
    if not user_has_org_permission(created_by, None, permission_for(Device, "add")):
        raise PermissionDeniedError("Only staff may create devices.")
    if id is not None:
        try:
            device_slug(id)
        except SlugError as exc:
            raise ApplicationError(str(exc), {"id": [str(exc)]}) from exc
        if id <= 0:
            raise ApplicationError("A device id must be positive.", {"id": ["Must be positive."]})
        if Device.objects.filter(id=id).exists():
            raise ApplicationError(f"Device {device_slug(id)} already exists.", {"id": ["This id is taken."]})
    device = Device(
        id=id,
        label=label,
        sg=_sensor_graph(sg),
        template=_template(template),
        external_id=external_id,
        created_by=created_by,
    )
    if id is None:
        # Skip ids given explicitly earlier, in case the sequence lags behind them.
        device.id = _next_device_id()
        while Device.objects.filter(id=device.id).exists():
            device.id = _next_device_id()
    device.slug = device_slug(device.id)
    device.full_clean()
    device.save(force_insert=True)
    if id is not None:
        _advance_device_id_sequence(id)
    return device


@transaction.atomic
def device_create_in_project(*, project, label: str = "", created_by=None, lat=None, lon=None) -> Device:
    """A new device claimed into ``project`` at once, without streams: a telemetry source (a LoRaWAN node found by
    its first uplink, a physical device made through ``pd/``) whose streams come with its first values. The caller
    has checked the user's rights (``created_by`` None: the platform itself)."""
    device = Device(
        label=label,
        org_id=project.org_id,
        project=project,
        lat=lat,
        lon=lon,
        claimed_by=created_by,
        claimed_on=timezone.now(),
        created_by=created_by,
    )
    device.id = _next_device_id()
    while Device.objects.filter(id=device.id).exists():
        device.id = _next_device_id()
    device.slug = device_slug(device.id)
    device.full_clean()
    device.save(force_insert=True)
    return device


@transaction.atomic(durable=True)
def device_update(*, device: Device, user, staff_mode: bool = False, **fields: Any) -> Device:
    """Edit a device. Changing its template is a staff operation, asked for with ``staff_mode`` (``?staff=1``)."""
    if "template" in fields:
        if not user.is_staff:
            raise PermissionDeniedError("Only staff may change a device's template.")
        if not staff_mode:
            raise ApplicationError(
                "Changing the template is a staff operation: add ?staff=1.", {"template": ["Requires ?staff=1."]}
            )
        device.template = _template(fields.pop("template"))
    sg_changed = False
    if "sg" in fields:
        sg = _sensor_graph(fields.pop("sg"))
        sg_changed = (sg.pk if sg else None) != device.sg_id
        device.sg = sg
    model_update(device, fields=EDITABLE_FIELDS, data=fields)
    if sg_changed and device.is_claimed:
        # A claimed device running a new sensor graph gets the streams it will report (existing ones stay).
        sensorgraph_device_streams_create(device=device, user=user)
    return device


def device_delete(*, device: Device) -> None:
    """Delete a device with its streams and their data."""
    with transaction.atomic():
        streams_delete(streams=StreamId.objects.filter(device=device))
        device.delete()


# Claiming ---------------------------------------------------------------------------------------------------------


def device_claimable(*, slugs: list[Any]) -> list[dict[str, Any]]:
    """Whether each device could be claimed: it exists, is active and belongs to no project. One query."""
    if len(slugs) > MAX_CLAIMABLE_SLUGS:
        raise ApplicationError(f"At most {MAX_CLAIMABLE_SLUGS} slugs at a time.", {"slugs": ["Too many."]})
    parsed: list[tuple[str, int | None]] = []
    for value in slugs:
        try:
            device_id = device_id_from(value)
            parsed.append((device_slug(device_id), device_id))
        except (SlugError, TypeError):
            parsed.append((str(value), None))
    free = set(
        Device.objects.filter(
            id__in=[device_id for _, device_id in parsed if device_id is not None],
            project__isnull=True,
            active=True,
        ).values_list("id", flat=True)
    )
    return [{"slug": slug, "claimable": device_id in free} for slug, device_id in parsed]


def _created_streams_for_claimed_device(*, device: Device, user) -> list[StreamId]:
    """The streams a device gets when it joins a project: from its sensor graph's variable templates (making the
    project's variables they need), or, for a device without a sensor graph, one per variable the project has."""
    if device.sg_id is not None:
        return sensorgraph_device_streams_create(device=device, user=user)
    project_id = device.project_id
    assert project_id is not None, "streams are made when a device joins a project"
    variables = StreamVariable.objects.filter(project_id=project_id)
    return device_streams_create(device=device, variables=variables, created_by=user)


@transaction.atomic
def device_claim(*, user, device: str | int, project, claim_key: str | None = None) -> Device:
    """Claim the unclaimed device named ``device`` into ``project`` (a project ``user`` can see).

    Needs the claim permission in the project's organisation. A device that does not exist, is claimed already or
    is busy gets the same 400, so other organisations' devices are not revealed. A device given a claim key (staff,
    at manufacture: ``deviceauth``) is claimed only with it: a missing or wrong key is a 400 and nothing changes.
    """
    if not user_has_org_permission(user, project.org, permission_for(Device, "claim")):
        raise PermissionDeniedError("You may not claim devices in this organisation.")
    try:
        device_id = device_id_from(device)
    except SlugError as exc:
        raise ApplicationError(str(exc), {"device": [str(exc)]}) from exc
    target = Device.objects.select_for_update().filter(id=device_id).first()
    if target is None or target.project_id is not None or target.busy or not target.active:
        raise ApplicationError(
            f"Device {device_slug(device_id)} is not available to claim.",
            {"device": ["Unknown device, or claimed already."]},
        )
    device_claim_key_check(device=target, claim_key=claim_key)
    target.project = project
    target.org_id = project.org_id
    target.claimed_by = user
    target.claimed_on = timezone.now()
    target.state = DeviceState.ACTIVE
    target.save(update_fields=["project", "org", "claimed_by", "claimed_on", "state"])
    _created_streams_for_claimed_device(device=target, user=user)
    return target


def device_unclaim(*, device: Device, label: str | None = None, clean_streams: bool = False) -> int:
    """Release a device from its project and organisation.

    With ``clean_streams`` its streams in that project are deleted with all their data rows (returns how many rows
    went); otherwise the streams and data stay with the organisation.
    """
    if device.busy:
        raise ApplicationError("The device is busy; try again when it has finished.")
    with transaction.atomic():
        deleted = 0
        if clean_streams:
            # Archived streams (data blocks) stay: they belong to the organisation, not the device.
            deleted = streams_delete(streams=StreamId.objects.filter(device=device, block__isnull=True))
        device.project = None
        device.org = None
        device.claimed_by = None
        device.claimed_on = None
        if label is not None:
            device.label = label
        device.save(update_fields=["project", "org", "claimed_by", "claimed_on", "label"])
    return deleted


# Archiving and replacing --------------------------------------------------------------------------------------------


@transaction.atomic
def device_reset_after_archive(*, device: Device, state: str | None = None, label: str | None = None) -> Device:
    """Ready an archived device for a new deployment: no longer busy (``state``: active unless asked otherwise),
    optionally relabelled, with an (empty) stream for each variable of its project.

    Its streamers keep their ``last_id``: the device keeps counting reading ids across deployments, so keeping it
    stops a re-sent old report from filling the new deployment with readings that were just archived.
    """
    device.state = state or DeviceState.ACTIVE
    fields = ["state"]
    if label is not None:
        device.label = label
        fields.append("label")
    device.save(update_fields=fields)
    if device.project_id is not None:
        _created_streams_for_claimed_device(device=device, user=None)
    return device


# Where an alias made for a replaced device starts reading: the beginning of time, so no old reading is left out.
ALIAS_START = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReplacedStream:
    alias: StreamAlias
    old_stream: StreamId
    new_stream: StreamId
    tap: StreamAliasTap


@dataclass(frozen=True)
class DeviceReplacement:
    device: Device
    new_device: Device
    timestamp: datetime
    streams: list[ReplacedStream]


# What else follows a device into its replacement: an app whose rows name the device in the field (telemetry's
# physical → logical mappings) registers a follower in its ``ready()``; :func:`device_replace` calls each inside its
# transaction once the aliases are tapped, so a refusal undoes the whole replacement.
ReplacementFollower = Callable[..., Any]  # follower(*, replacement: DeviceReplacement, user) -> Any
replacement_followers: list[ReplacementFollower] = []


def register_replacement_follower(follower: ReplacementFollower) -> ReplacementFollower:
    if follower not in replacement_followers:
        replacement_followers.append(follower)
    return follower


def _replacement_device(*, value: Device | str | int, old_device: Device) -> Device:
    """The replacing device, locked: unclaimed, or already in the old device's project. Anything else (unknown,
    another organisation's) is the same 400, so nothing is revealed."""
    try:
        device_id = value.pk if isinstance(value, Device) else device_id_from(value)
    except SlugError as exc:
        raise ApplicationError(str(exc), {"new_device": [str(exc)]}) from exc
    device = Device.objects.select_for_update().filter(id=device_id).first()
    if device is None or (device.project_id is not None and device.project_id != old_device.project_id):
        raise ApplicationError(
            f"Device {device_slug(device_id)} is not available as a replacement.",
            {"new_device": ["Unknown device, or claimed into another project."]},
        )
    if device.pk == old_device.pk:
        raise ApplicationError("A device cannot replace itself.", {"new_device": ["The same device."]})
    if device.busy or not device.active:
        raise ConflictError(f"Device {device.slug} is busy or inactive.", {"new_device": ["Busy or inactive."]})
    return device


def _current_aliases(streams: list[StreamId]) -> dict[Any, list[StreamAliasTap]]:
    """Per stream id, the latest taps of the aliases reading it now. One query."""
    latest = StreamAliasTap.objects.filter(alias=OuterRef("alias")).order_by("-timestamp").values("timestamp")[:1]
    taps = (
        StreamAliasTap.objects.filter(stream__in=streams)
        .annotate(latest=Subquery(latest))
        .filter(timestamp=F("latest"))
        .select_related("alias")
    )
    found: dict[Any, list[StreamAliasTap]] = {}
    for tap in taps:
        found.setdefault(tap.stream_id, []).append(tap)
    return found


@transaction.atomic(durable=True)
def device_replace(
    *, old_device: Device, new_device: Device | str | int, at: datetime, user, claim_key: str | None = None
) -> DeviceReplacement:
    """Replace ``old_device`` in the field by ``new_device`` from ``at`` on, keeping one series per stream.

    For each stream of the old device, the aliases reading it now (or a new alias named after it, reading it from
    the beginning of time) get a tap at ``at`` on the new device's stream of the same variable. The new device is
    claimed into the old one's project if it is unclaimed, takes over its label, position and properties where it
    has none, and the old device is marked inactive (its data stays where it is); then the registered followers
    move what else names the old device in the field (a telemetry mapping, docs/telemetry.md). Needs
    ``can_modify_device`` and ``can_manage_stream_aliases`` in the device's organisation, and ``can_claim_devices``
    to claim the new one (with ``claim_key`` when it has one, as :func:`device_claim`).
    """
    org = old_device.org
    for model, action in ((Device, "change"), (StreamAlias, "add")):
        if not user_has_org_permission(user, org, permission_for(model, action)):
            raise PermissionDeniedError("You may not replace devices in this organisation.")
    old_device = Device.objects.select_for_update(of=("self",)).select_related("project", "org").get(pk=old_device.pk)
    if old_device.project_id is None:
        raise ApplicationError("Only a claimed device can be replaced.")
    if old_device.busy:
        raise ConflictError(f"Device {old_device.slug} is busy; try again when it has finished.")
    new_device = _replacement_device(value=new_device, old_device=old_device)
    if new_device.project_id is None:
        new_device = device_claim(user=user, device=new_device.id, project=old_device.project, claim_key=claim_key)

    live = StreamId.objects.filter(project_id=old_device.project_id, block__isnull=True)
    old_streams = list(live.filter(device=old_device).order_by("var_lid"))
    new_streams = {stream.var_lid: stream for stream in live.filter(device=new_device)}
    missing = {stream.var_lid for stream in old_streams} - new_streams.keys()
    if missing:
        variables = StreamVariable.objects.filter(project_id=old_device.project_id, lid__in=missing)
        device_streams_create(device=new_device, variables=variables, created_by=user)
        new_streams = {stream.var_lid: stream for stream in live.filter(device=new_device)}

    if at <= ALIAS_START:
        raise ApplicationError("The replacement time must be after 1970.", {"timestamp": ["Too early."]})
    current_taps = _current_aliases(old_streams)
    replaced = []
    for old_stream in old_streams:
        new_stream = new_streams.get(old_stream.var_lid)
        if new_stream is None:  # a stream without a variable of the project: nothing to continue it with
            continue
        latest_taps = current_taps.get(old_stream.pk)
        if not latest_taps:
            name = f"{old_stream.data_label or old_stream.var_name} ({old_device.label or old_device.slug})"
            alias = alias_create(user=user, org=org, name=name[:100])
            latest_taps = [alias_tap_create(user=user, alias=alias, stream=old_stream, timestamp=ALIAS_START)]
        for latest in latest_taps:
            if at <= latest.timestamp:
                raise ApplicationError(
                    f"Alias {latest.alias.slug} reads {old_stream.slug} from {latest.timestamp.isoformat()} on: the "
                    "replacement time must be later.",
                    {"timestamp": ["Not after the alias's latest tap."]},
                )
            tap = alias_tap_create(user=user, alias=latest.alias, stream=new_stream, timestamp=at)
            replaced.append(ReplacedStream(alias=latest.alias, old_stream=old_stream, new_stream=new_stream, tap=tap))

    fields = []
    for field in ("label", "lat", "lon"):
        if getattr(new_device, field) in ("", None) and getattr(old_device, field) not in ("", None):
            setattr(new_device, field, getattr(old_device, field))
            fields.append(field)
    if fields:
        new_device.save(update_fields=fields)
    targets.metadata_carry_over(
        org_id=old_device.org_id, source=old_device.slug, destination=new_device.slug, user=user
    )
    old_device.active = False
    old_device.state = DeviceState.INACTIVE
    old_device.save(update_fields=["active", "state"])
    replacement = DeviceReplacement(device=old_device, new_device=new_device, timestamp=at, streams=replaced)
    for follower in replacement_followers:
        follower(replacement=replacement, user=user)
    return replacement
