"""Reads on stream variables and streams, already scoped to a user."""

from __future__ import annotations

from django.db.models import QuerySet

from server.apps.core.errors import ApplicationError
from server.apps.core.slugs import SlugError, parse_stream_slug, parse_variable_slug, variable_slug
from server.apps.stream.models import StreamId, StreamVariable


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
