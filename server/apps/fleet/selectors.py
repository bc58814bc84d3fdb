"""Reads on fleets, already scoped to a user."""

from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet

from server.apps.core.errors import ApplicationError
from server.apps.core.slugs import SlugError, fleet_slug, parse_fleet_slug
from server.apps.fleet.models import Fleet, FleetMembership


def fleet_list(*, user, action: str = "view") -> QuerySet[Fleet]:
    return Fleet.objects.restrict(user, action).select_related("org", "created_by")


def fleet_lookup(value: str | int) -> dict:
    """Filter keywords for a fleet named by its ``g--`` slug in any lenient form, or its integer id written in
    decimal; raises ``SlugError``."""
    text = str(value).strip()
    # ASCII digits only: int() reads the digits of any script, and an Arabic-Indic one must not name fleet 1.
    number = int(text) if text.isascii() and text.isdecimal() else parse_fleet_slug(text)
    return {"slug": fleet_slug(number)}


def visible_fleet(*, user, value: str, field: str = "fleet", action: str = "view") -> Fleet:
    """A fleet named by a body field: malformed, unknown and out of scope are the same 400, revealing nothing."""
    try:
        lookup = fleet_lookup(value)
    except SlugError as exc:
        raise ApplicationError(str(exc), {field: [str(exc)]}) from exc
    fleet = fleet_list(user=user, action=action).filter(**lookup).first()
    if fleet is None:
        raise ApplicationError(f"Unknown fleet '{value}'.", {field: [f"Unknown fleet: {value}."]})
    return fleet


def _current(memberships: QuerySet[FleetMembership]) -> QuerySet[FleetMembership]:
    # A device that left the fleet's organisation (unclaimed) is no longer a member of its fleets.
    return memberships.filter(device__org_id=F("fleet__org_id"))


def fleet_members(*, fleet: Fleet) -> QuerySet[FleetMembership]:
    """The fleet's current members, by device id: one query."""
    return _current(FleetMembership.objects.filter(fleet=fleet)).select_related("device").order_by("device_id")


def fleets_with_member_counts(*, user) -> QuerySet[Fleet]:
    # A grouped query drops the model's ordering: give it again.
    return (
        fleet_list(user=user)
        .annotate(member_count=Count("memberships", filter=Q(memberships__device__org_id=F("org_id"))))
        .order_by("id")
    )


def device_fleet_ids(*, device_id: int) -> QuerySet:
    """The ids of the fleets ``device_id`` is currently a member of (a subquery)."""
    return _current(FleetMembership.objects.filter(device_id=device_id)).values("fleet_id")
