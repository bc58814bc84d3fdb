"""Writes on stream variables and streams.

A stream's rows live in the streamdata database, so deleting streams deletes their rows there too, in a nested
transaction on that database (no relation crosses the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, router, transaction
from django.db.models import QuerySet

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.scoping import permission_for, user_has_org_permission
from server.apps.core.services import model_update
from server.apps.core.slugs import SlugError, stream_slug, variable_slug
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import stream_data_delete
from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit

VARIABLE_FIELDS = (
    "name",
    "about",
    "units",
    "var_type",
    "multiplication_factor",
    "division_factor",
    "offset",
    "decimal_places",
    "raw_value_format",
    "app_only",
    "web_only",
)
STREAM_FIELDS = (
    "data_label",
    "var_type",
    "input_unit",
    "output_unit",
    "mdo_type",
    "multiplication_factor",
    "division_factor",
    "offset",
    "raw_value_format",
    "is_encoded",
    "enabled",
)


def _var_type(slug: str | None) -> VarType | None:
    if not slug:
        return None
    var_type = VarType.objects.filter(slug=slug).first()
    if var_type is None:
        raise ApplicationError(f"Unknown variable type '{slug}'.", {"var_type": [f"Unknown variable type: {slug}."]})
    return var_type


def _unit(model, slug: str | None, var_type: VarType | None, field: str):
    if not slug:
        return None
    unit = model.objects.filter(slug=slug).first()
    if unit is None or (var_type is not None and unit.var_type_id != var_type.pk):
        raise ApplicationError(f"Unknown {field} '{slug}' for this variable type.", {field: [f"Unknown unit: {slug}."]})
    return unit


def _check_org_permission(user, org, model, action: str) -> None:
    if not user_has_org_permission(user, org, permission_for(model, action)):
        raise PermissionDeniedError("You do not have permission to perform this action.")


# Variables --------------------------------------------------------------------------------------------------------


@transaction.atomic
def variable_create(*, user, project, lid: int, name: str, var_type: str | None = None, **fields: Any):
    """A variable of ``project`` (which ``user`` can see); ``lid`` is unique within the project."""
    _check_org_permission(user, project.org, StreamVariable, "add")
    if StreamVariable.objects.filter(project=project, lid=lid).exists():
        raise ApplicationError(
            f"The project already has a variable with id {lid:04x}.", {"lid": [f"Variable {lid:04x} exists."]}
        )
    try:
        slug = variable_slug(project.gid, lid)
    except SlugError as exc:
        raise ApplicationError(str(exc), {"lid": [str(exc)]}) from exc
    variable = StreamVariable(
        slug=slug,
        project=project,
        org=project.org,
        lid=lid,
        name=name,
        var_type=_var_type(var_type),
        created_by=user,
        **{key: value for key, value in fields.items() if key in VARIABLE_FIELDS},
    )
    variable.full_clean()
    variable.save()
    return variable


@transaction.atomic(durable=True)
def variable_update(*, variable: StreamVariable, **fields: Any) -> StreamVariable:
    if "var_type" in fields:
        fields["var_type"] = _var_type(fields["var_type"])
    return model_update(variable, fields=VARIABLE_FIELDS, data=fields)


def variable_delete(*, variable: StreamVariable) -> None:
    """Delete the variable, its streams and their data."""
    with transaction.atomic():
        streams_delete(streams=StreamId.objects.filter(variable=variable))
        variable.delete()


# Streams ----------------------------------------------------------------------------------------------------------


@transaction.atomic
def stream_create(
    *,
    user,
    variable: StreamVariable,
    device=None,
    input_unit: str | None = None,
    output_unit: str | None = None,
    var_type: str | None = None,
    **fields: Any,
) -> StreamId:
    """The stream of ``variable`` for ``device`` (which must be in the variable's project), or the project-level
    stream when ``device`` is None. Scaling and type start from the variable's."""
    project = variable.project
    _check_org_permission(user, project.org, StreamId, "add")
    if device is not None and device.project_id != project.pk:
        raise ApplicationError(
            "The device is not in the variable's project.", {"device": ["The device is not in this project."]}
        )
    chosen_type = _var_type(var_type) if var_type else variable.var_type
    stream = _new_stream(variable=variable, device=device, var_type=chosen_type, created_by=user)
    if StreamId.objects.filter(slug=stream.slug).exists():
        raise ApplicationError(f"Stream {stream.slug} already exists.", {"variable": [f"Stream {stream.slug} exists."]})
    stream.input_unit = _unit(VarTypeInputUnit, input_unit, chosen_type, "input_unit")
    stream.output_unit = _unit(VarTypeOutputUnit, output_unit, chosen_type, "output_unit")
    for key, value in fields.items():
        if key in STREAM_FIELDS:
            setattr(stream, key, value)
    stream.full_clean()
    try:
        with transaction.atomic():
            stream.save()
    except IntegrityError as exc:
        raise ApplicationError(f"Stream {stream.slug} already exists.") from exc
    return stream


def _new_stream(*, variable: StreamVariable, device, var_type: VarType | None, created_by) -> StreamId:
    """An unsaved stream that starts with the variable's name, type and scaling."""
    project = variable.project
    return StreamId(
        slug=stream_slug(project.gid, device.id if device is not None else 0, variable.lid),
        org_id=project.org_id,
        project=project,
        device=device,
        variable=variable,
        var_lid=variable.lid,
        var_name=variable.name,
        var_type=var_type,
        multiplication_factor=variable.multiplication_factor,
        division_factor=variable.division_factor,
        offset=variable.offset,
        raw_value_format=variable.raw_value_format,
        is_encoded=bool(var_type and var_type.is_encoded),
        created_by=created_by,
    )


@transaction.atomic
def device_streams_create(*, device, variables: QuerySet[StreamVariable], created_by) -> list[StreamId]:
    """The device's streams for these variables of its project, skipping those that exist (two queries)."""
    candidates = [
        _new_stream(variable=variable, device=device, var_type=variable.var_type, created_by=created_by)
        for variable in variables.select_related("project", "var_type")
    ]
    existing = set(StreamId.objects.filter(slug__in=[s.slug for s in candidates]).values_list("slug", flat=True))
    return StreamId.objects.bulk_create([s for s in candidates if s.slug not in existing])


def device_streams_ensure(*, device, lids: Iterable[int]) -> int:
    """Create the variables (``Variable <lid>``) and streams of the device's project that readings for these
    variable ids need and do not have yet; returns how many streams were missing. For report ingestion, which runs
    without a user (the uploader's permission was checked at upload). Safe to run concurrently: rows another
    process made meanwhile are kept (conflicts are ignored, then the rows are read back). Four queries."""
    project = device.project
    lids = sorted(set(lids))
    with transaction.atomic():
        StreamVariable.objects.bulk_create(
            [
                StreamVariable(
                    slug=variable_slug(project.gid, lid),
                    org_id=project.org_id,
                    project=project,
                    lid=lid,
                    name=f"Variable {lid:04x}",
                )
                for lid in lids
            ],
            ignore_conflicts=True,
        )
        variables = StreamVariable.objects.filter(project=project, lid__in=lids).select_related("project", "var_type")
        candidates = [_new_stream(variable=v, device=device, var_type=v.var_type, created_by=None) for v in variables]
        existing = set(StreamId.objects.filter(slug__in=[s.slug for s in candidates]).values_list("slug", flat=True))
        created = StreamId.objects.bulk_create([s for s in candidates if s.slug not in existing], ignore_conflicts=True)
    return len(created)


@transaction.atomic
def stream_update(*, stream: StreamId, **fields: Any) -> StreamId:
    if "var_type" in fields:
        fields["var_type"] = _var_type(fields["var_type"])
    var_type = fields.get("var_type", stream.var_type)
    if "input_unit" in fields:
        fields["input_unit"] = _unit(VarTypeInputUnit, fields["input_unit"], var_type, "input_unit")
    if "output_unit" in fields:
        fields["output_unit"] = _unit(VarTypeOutputUnit, fields["output_unit"], var_type, "output_unit")
    return model_update(stream, fields=STREAM_FIELDS, data=fields)


def streams_delete(*, streams: QuerySet[StreamId]) -> int:
    """Delete streams and all their data rows; returns the number of data rows deleted.

    The streamdata transaction nests inside the default one, so a failure on either side leaves both as they were
    (short of the final commit of ``default`` failing after streamdata committed).
    """
    with transaction.atomic(), transaction.atomic(using=router.db_for_write(StreamData)):
        doomed = list(streams.values_list("pk", "series"))
        deleted = stream_data_delete(series=[series for _, series in doomed])
        StreamId.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
    return deleted


def stream_delete(*, stream: StreamId) -> int:
    return streams_delete(streams=StreamId.objects.filter(pk=stream.pk))
