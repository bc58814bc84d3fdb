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


def stream_list_for_data(*, user) -> QuerySet[StreamId]:
    """The streams ``user`` may see, with only what reading their data needs: whether the user may read it
    (``user_can(user, stream, "read_data")`` then asks no query) and the output unit (for the values). One join
    rather than ``stream_list``'s eight, which PostgreSQL takes longer to plan than to run."""
    return StreamId.objects.restrict(user, "view").with_permission(user, "read_data").select_related("output_unit")


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
