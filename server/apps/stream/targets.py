"""Streams (``s--…``) and stream variables (``v--…``) as targets."""

from __future__ import annotations

from typing import Any

from server.apps.core import slugs
from server.apps.core.targets import STREAM, VARIABLE, TargetType, register_target
from server.apps.stream.models import StreamId, StreamVariable


def _stream_lookup(value: str) -> dict[str, Any]:
    return {"slug": slugs.parse_stream_slug(value).slug}


def _variable_lookup(value: str) -> dict[str, Any]:
    return {"slug": slugs.variable_slug(*slugs.parse_variable_slug(value))}


register_target(TargetType(STREAM, StreamId, lookup=_stream_lookup, related=("org", "project", "device")))
register_target(TargetType(VARIABLE, StreamVariable, lookup=_variable_lookup, related=("org", "project")))
