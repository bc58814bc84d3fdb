"""Forwarding: an organisation's destinations (a webhook, or files in a store) and each destination's outbox.

Every routed message (a physical device's message mapped to its logical device) becomes one :class:`Delivery` row per
active destination of the organisation, written in the routing transaction. The worker sends a destination's rows one
by one in id order, retries a failing row with exponential backoff, and after ``max_attempts`` marks it dead; dead
rows are replayed on request (docs/forwarding.md).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from server.apps.core.models import CreatedModel, CreatedOnModel
from server.apps.core.scoping import Ability, ScopedQuerySet

# Destinations send the organisation's data out of the platform, and hold its credentials for other systems.
DESTINATION_SCOPE_PERMISSIONS = {
    "view": "can_manage_org_and_projects",
    "add": "can_manage_org_and_projects",
    "change": "can_manage_org_and_projects",
    "delete": "can_manage_org_and_projects",
}
# The store file destinations write to unless they name another.
DELIVERY_STORE = "delivery"


class DestinationKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    FILE = "file", "Files in a store"


class Destination(CreatedModel):
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=DestinationKind.choices)
    is_active = models.BooleanField(default=True, help_text="An inactive destination is offered no new messages.")
    # Webhook: each message is POSTed as JSON to the URL with these headers; with a secret, the body is signed.
    url = models.URLField(max_length=500, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    secret = models.CharField(max_length=200, blank=True)
    timeout = models.FloatField(default=10.0, validators=[MinValueValidator(0.1), MaxValueValidator(60.0)])
    # File: each message is written to <prefix>/<correlation id>/<correlation id>.json in the store.
    store = models.CharField(max_length=63, default=DELIVERY_STORE)
    prefix = models.CharField(max_length=200, blank=True)
    # Retries: the n-th retry waits backoff * 2^(n-1) seconds (at most an hour); after max_attempts the row is dead.
    max_attempts = models.PositiveSmallIntegerField(default=8, validators=[MinValueValidator(1), MaxValueValidator(50)])
    backoff = models.FloatField(default=10.0, validators=[MinValueValidator(0.0), MaxValueValidator(3600.0)])

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = DESTINATION_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="destination_unique_name_per_org"),
            models.CheckConstraint(condition=~Q(kind="webhook") | ~Q(url=""), name="destination_webhook_has_url"),
        ]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead letter"


class Delivery(CreatedOnModel):
    """One routed message in one destination's outbox. ``correlation_id`` is the message's, so routing the same
    message twice adds nothing, and the receiver can tell a redelivery by it."""

    id = models.BigAutoField(primary_key=True)
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    correlation_id = models.UUIDField()
    message = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_on = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "destination__org"
    scope_permissions = DESTINATION_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "correlation_id"], name="delivery_unique_message_per_destination"
            ),
        ]
        indexes = [
            # The outbox's head, and the status counts.
            models.Index(fields=["destination", "status", "id"], name="delivery_destination_status"),
        ]

    def __str__(self) -> str:
        return f"{self.destination_id}: {self.correlation_id}"


VIEW_DESTINATIONS = Ability("view_destination", Destination, "view")
