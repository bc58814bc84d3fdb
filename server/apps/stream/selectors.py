"""Reads on stream variables and streams, already scoped to a user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet

from server.apps.core.compiled import CompiledQuery, instance_from_columns
from server.apps.core.errors import ApplicationError
from server.apps.core.scoping import permission_annotation, token_scope
from server.apps.core.slugs import SlugError, parse_stream_slug, parse_variable_slug, variable_slug
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.vartype.models import VarTypeOutputUnit


def variable_list(*, user) -> QuerySet[StreamVariable]:
    return StreamVariable.objects.restrict(user, "view").select_related("org", "project", "var_type")


def variable_lookup(value: str) -> dict:
    """Filter keywords for a ``v--`` slug in any form; raises ``SlugError``."""
    return {"slug": variable_slug(*parse_variable_slug(value))}


def stream_list(*, user, action: str = "view") -> QuerySet[StreamId]:
    """The streams ``user`` may see (or act on), with everything the API shows fetched in the same query."""
    return StreamId.objects.restrict(user, action).select_related(
        "org", "project", "device", "variable", "block", "var_type", "input_unit", "output_unit"
    )


# What reading a stream's data needs of it: its rows' key, its slug (and so its project's, device's and variable's)
# and its output unit's conversion.
STREAM_FOR_DATA_FIELDS = (
    "slug",
    "series",
    "output_unit",
    *(f"output_unit__{field}" for field in ("m", "d", "o", "decimal_places")),
)


def stream_list_for_data(*, user) -> QuerySet[StreamId]:
    """The streams ``user`` may see, with only what reading their data needs (``STREAM_FOR_DATA_FIELDS``), and
    whether the user may read it (``user_can(user, stream, "read_data")`` then asks no query). One join rather than
    ``stream_list``'s eight, which PostgreSQL takes longer to plan than to run, and a few columns rather than all,
    which Django takes longer to compile and load than the database to read."""
    return (
        StreamId.objects.restrict(user, "view")
        .with_permission(user, "read_data")
        .select_related("output_unit")
        .only(*STREAM_FOR_DATA_FIELDS)
    )


def stream_list_for_chart(*, user) -> QuerySet[StreamId]:
    """The streams whose data ``user`` may read, with what a chart shows of them (``display_label``,
    ``display_units``, ``display_decimal_places``, the output conversion): three joins rather than
    ``stream_list``'s eight."""
    return StreamId.objects.restrict(user, "read_data").select_related("output_unit", "variable", "var_type")


# What a chart shows of a stream comes from these related rows as well as the stream's own.
CHART_RELATED = ("output_unit", "variable", "var_type")


def _related_model(name: str) -> type[Model]:
    model = StreamId._meta.get_field(name).related_model
    assert isinstance(model, type), f"StreamId.{name} is a relation"
    return model


def _stream_for_chart_query(*, staff: bool) -> CompiledQuery:
    def build(user_id: int, org_slug: str, slug: str) -> QuerySet:
        reader = get_user_model()(pk=user_id, is_staff=staff, is_active=True)
        columns = [field.attname for field in StreamId._meta.concrete_fields]
        for name in CHART_RELATED:
            columns += [f"{name}__{field.name}" for field in _related_model(name)._meta.concrete_fields]
        streams = StreamId.objects.restrict(reader, "read_data").filter(org__slug=org_slug, slug=slug)
        return streams.values_list(*columns)

    return CompiledQuery(build, user_id=int, org_slug=str, slug=str)


_STREAM_FOR_CHART = {staff: _stream_for_chart_query(staff=staff) for staff in (False, True)}


def stream_for_chart(*, user, org_slug: str, slug: str) -> StreamId | None:
    """The stream ``slug`` of organisation ``org_slug`` if ``user`` may read its data, as
    ``stream_list_for_chart`` gives it (with its output unit, variable and type); None otherwise. One query, compiled
    once per kind of account (core/compiled.py), for the stream page's chart data."""
    if not (user.is_authenticated and user.is_active) or token_scope(user) is not None:
        return stream_list_for_chart(user=user).filter(org__slug=org_slug, slug=slug).first()
    rows = _STREAM_FOR_CHART[bool(user.is_staff)].rows(user_id=user.pk, org_slug=org_slug, slug=slug)
    if not rows:
        return None
    values = iter(rows[0])
    using = StreamId.objects.db
    own = StreamId._meta.concrete_fields
    stream = instance_from_columns(StreamId, using, {field.attname: next(values) for field in own})
    for name in CHART_RELATED:
        model = _related_model(name)
        found = {field.attname: next(values) for field in model._meta.concrete_fields}
        setattr(stream, name, instance_from_columns(model, using, found) if found["id"] is not None else None)
    return stream


def _stream_for_data_query(*, staff: bool) -> CompiledQuery:
    def build(user_id: int, slug: str) -> QuerySet:
        reader = get_user_model()(pk=user_id, is_staff=staff, is_active=True)
        columns = ("id", *STREAM_FOR_DATA_FIELDS[:2], "output_unit_id", *STREAM_FOR_DATA_FIELDS[3:])
        held = permission_annotation("read_data")
        return stream_list_for_data(user=reader).filter(slug=slug).values_list(*columns, held)

    return CompiledQuery(build, user_id=int, slug=str)


# The SQL differs between staff (every stream) and members (their organisations'): one compiled query each.
_STREAM_FOR_DATA = {staff: _stream_for_data_query(staff=staff) for staff in (False, True)}


def stream_for_data(*, user, slug: str) -> StreamId | None:
    """The stream ``slug`` (canonical) if ``user`` may see it, as ``stream_list_for_data`` gives it (so with
    whether the user may read its data); None otherwise. One query, compiled once per kind of account
    (core/compiled.py): reading data starts with it on every request."""
    if not (user.is_authenticated and user.is_active) or token_scope(user) is not None:
        return stream_list_for_data(user=user).filter(slug=slug).first()
    rows = _STREAM_FOR_DATA[bool(user.is_staff)].rows(user_id=user.pk, slug=slug)
    if not rows:
        return None
    stream_id, slug, series, unit_id, m, d, o, places, held = rows[0]
    using = StreamId.objects.db
    stream = instance_from_columns(
        StreamId, using, {"id": stream_id, "slug": slug, "series": series, "output_unit_id": unit_id}
    )
    if unit_id is not None:
        unit = {"id": unit_id, "m": m, "d": d, "o": o, "decimal_places": places}
        stream.output_unit = instance_from_columns(VarTypeOutputUnit, using, unit)
    setattr(stream, permission_annotation("read_data"), held)
    return stream


def stream_lookup(value: str) -> dict:
    """Filter keywords for an ``s--`` slug in any form; raises ``SlugError``."""
    return {"slug": parse_stream_slug(value).slug}


def visible_variable(*, user, value: str) -> StreamVariable:
    """A variable named by a body field: unknown or out of scope is the same 400, revealing nothing."""
    try:
        variable = variable_list(user=user).filter(**variable_lookup(value)).first()
    except SlugError as exc:
        raise ApplicationError(str(exc), {"variable": [str(exc)]}) from exc
    if variable is None:
        raise ApplicationError(f"Unknown variable '{value}'.", {"variable": [f"Unknown variable: {value}."]})
    return variable
