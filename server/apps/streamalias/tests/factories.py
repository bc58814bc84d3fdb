"""Aliases and taps for the tests, made through the real services."""

from __future__ import annotations

from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.streamalias.services import alias_create, alias_tap_create


def make_alias(org, name: str = "Tank level"):
    return alias_create(user=org.created_by, org=org, name=name)


def make_tap(alias, stream, timestamp):
    return alias_tap_create(user=alias.org.created_by, alias=alias, stream=stream, timestamp=timestamp)


def make_org_stream(org, lid: int = 0x5001):
    """A stream of a new device in a new project of ``org``."""
    return make_stream(make_device(make_project(org)), lid=lid)
