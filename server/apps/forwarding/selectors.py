"""Reads on destinations and their outboxes, restricted to what the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.utils import timezone

from server.apps.forwarding.models import Delivery, DeliveryStatus, Destination


def destination_list(*, user) -> QuerySet[Destination]:
    return Destination.objects.restrict(user, "view").select_related("org", "created_by")


def deliveries_of(*, destination: Destination, status: str | None = None) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(destination=destination)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-id")


@dataclass(frozen=True)
class DestinationStatus:
    pending: int
    delivered: int
    dead: int
    # When the oldest undelivered message entered the outbox (None when it is empty), and how long ago.
    oldest_pending: datetime | None
    lag_seconds: float
    last_error: str
    last_error_at: datetime | None
    last_delivered_on: datetime | None


def destination_status(*, destination: Destination) -> DestinationStatus:
    """Delivery counts by status, lag (the age of the oldest undelivered message) and the last error: two queries."""
    counts = Delivery.objects.filter(destination=destination).aggregate(
        pending=Count("id", filter=Q(status=DeliveryStatus.PENDING)),
        delivered=Count("id", filter=Q(status=DeliveryStatus.DELIVERED)),
        dead=Count("id", filter=Q(status=DeliveryStatus.DEAD)),
        oldest_pending=Min("created_on", filter=Q(status=DeliveryStatus.PENDING)),
        last_delivered_on=Max("delivered_on"),
    )
    failed = (
        Delivery.objects.filter(destination=destination)
        .exclude(last_error="")
        .order_by(F("last_attempt_at").desc(nulls_last=True))
        .values("last_error", "last_attempt_at")
        .first()
    )
    oldest = counts["oldest_pending"]
    return DestinationStatus(
        pending=counts["pending"],
        delivered=counts["delivered"],
        dead=counts["dead"],
        oldest_pending=oldest,
        lag_seconds=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        last_error=failed["last_error"] if failed else "",
        last_error_at=failed["last_attempt_at"] if failed else None,
        last_delivered_on=counts["last_delivered_on"],
    )
