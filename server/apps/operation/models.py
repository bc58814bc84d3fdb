"""Device operations: every message the platform sends to a device, and what became of it.

An operation is one request to one device (a command, a configuration, later a software update or a file upload:
its ``kind``), sent over one transport (MQTT, HTTP polling, the file stores). It moves PENDING → SENT → one of the
closed statuses, and every step is appended to its ``history`` with its time. A reply names the operation by its id;
a reply for an operation that is unknown or already closed changes nothing.

A device's presence (online, last seen) and the messages from it that could not be read are kept here too: they
come from the same transports.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from server.apps.core.models import CreatedModel, CreatedOnModel
from server.apps.core.scoping import STAFF_ONLY, Ability, ScopedQuerySet


class OperationStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SENT = "SENT", "Sent"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    TIMED_OUT = "TIMED_OUT", "Timed out"
    CANCELED = "CANCELED", "Canceled"
    SUPERSEDED = "SUPERSEDED", "Superseded"


OPEN_STATUSES = (OperationStatus.PENDING, OperationStatus.SENT)
CLOSED_STATUSES = tuple(status for status in OperationStatus if status not in OPEN_STATUSES)


class Transport(models.TextChoices):
    MQTT = "mqtt", "MQTT"
    HTTP = "http", "HTTP polling"
    STORE = "store", "File stores"


class DeviceOperation(CreatedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="operations")
    # The device's organisation when the operation was made: what scopes it.
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, help_text="What the operation does (operation.kinds).")
    name = models.CharField(max_length=64, help_text="The request's name on the wire (SET_CONFIG, a command …).")
    payload = models.JSONField(default=dict, blank=True)
    transport = models.CharField(max_length=8, choices=Transport.choices)
    status = models.CharField(max_length=12, choices=OperationStatus.choices, default=OperationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times it was sent.")
    # False while its payload is still being prepared (configuration on connect resolves it in the worker): it is
    # not delivered before.
    ready = models.BooleanField(default=True)
    deadline = models.DateTimeField(help_text="Still open then: TIMED_OUT.")
    heartbeat_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Once sent with a heartbeat: the time by which the device must reply or report progress.
    heartbeat_due = models.DateTimeField(null=True, blank=True)
    history = models.JSONField(default=list, blank=True, help_text="[{at, step, detail}], oldest first.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Operations queued together (one request for every device of a project) share a batch.
    batch = models.UUIDField(null=True, blank=True)
    sent_on = models.DateTimeField(null=True, blank=True)
    closed_on = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    # Queueing and canceling operations is running the device, not editing its record: operators may
    # (docs/permissions.md). A kind may ask for more (``OperationKind.permission``).
    scope_permissions = {
        "add": "can_operate_devices",
        "change": "can_operate_devices",
        "delete": "can_operate_devices",
    }

    class Meta:
        ordering = ["-created_on", "id"]
        indexes = [
            models.Index(fields=["device", "-created_on"], name="operation_device_created"),
            # Open operations only: what the poll, the replies and the overdue sweep look for.
            models.Index(
                fields=["status", "deadline"],
                name="operation_open_deadline",
                condition=models.Q(status__in=["PENDING", "SENT"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["PENDING", "SENT"], closed_on__isnull=True)
                | (~models.Q(status__in=["PENDING", "SENT"]) & models.Q(closed_on__isnull=False)),
                name="operation_closed_iff_closed_on",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} → {self.device_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class DevicePresence(models.Model):
    """Whether a device is connected, and when the platform last heard from it over any transport."""

    device = models.OneToOneField("device.Device", on_delete=models.CASCADE, primary_key=True, related_name="presence")
    online = models.BooleanField(default=False)
    last_seen = models.DateTimeField(null=True, blank=True)
    # When the current (or last) connection began, and over which transport it was heard.
    connected_on = models.DateTimeField(null=True, blank=True)
    transport = models.CharField(max_length=8, choices=Transport.choices, blank=True)

    def __str__(self) -> str:
        return f"{self.device_id}: {'online' if self.online else 'offline'}"


class DeviceMessageError(CreatedOnModel):
    """A message from a device that could not be read (a malformed MQTT message or status file), kept readable on
    the device's page instead of stopping the bridge or the worker."""

    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="+")
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    transport = models.CharField(max_length=8, choices=Transport.choices)
    source = models.CharField(max_length=300, help_text="The MQTT topic or the store key.")
    error = models.TextField()
    excerpt = models.TextField(blank=True, help_text="The start of the message as received.")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    # Only the platform records them.
    scope_permissions = {"add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["-created_on", "-id"]
        indexes = [models.Index(fields=["device", "-created_on"], name="operation_msgerror_device")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.source}: {self.error}"


class DeviceServiceStatus(models.Model):
    """The latest status file a device wrote for one of its services (the RustiQ monitoring service's
    ``last_monitoring_status.json``): its general status and error, and a digest so an unchanged file is read
    once."""

    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, related_name="+")
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    service = models.CharField(max_length=64)
    general_status = models.CharField(max_length=200, blank=True)
    general_error = models.TextField(blank=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the file last read.")
    read_on = models.DateTimeField(default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {"add": STAFF_ONLY, "change": STAFF_ONLY, "delete": STAFF_ONLY}

    class Meta:
        ordering = ["service"]
        constraints = [models.UniqueConstraint(fields=["device", "service"], name="operation_service_status_unique")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.service}: {self.general_status}"


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
CHANGE_OPERATIONS = Ability("change_deviceoperation", DeviceOperation, "change")
