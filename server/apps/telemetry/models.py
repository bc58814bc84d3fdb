"""Telemetry from any device (docs/telemetry.md): the raw message log, physical devices (a ``Device`` with a
telemetry identity), logical devices (their series are stream aliases), the mappings between them, and The Things
Stack integrations."""

from __future__ import annotations

import secrets
import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q

from server.apps.core.models import CreatedModel
from server.apps.core.scoping import Ability, ScopedQuerySet
from server.apps.device.models import MAX_LATITUDE, MAX_LONGITUDE, within_degrees


class RawMessageSource(models.TextChoices):
    HTTP = "http", "HTTP telemetry"
    MQTT = "mqtt", "MQTT telemetry"
    TTN = "ttn", "The Things Stack"


class RawMessageStatus(models.TextChoices):
    ROUTED = "routed", "Routed to its logical device"
    UNMAPPED = "unmapped", "Stored; the device is not mapped"
    PAUSED = "paused", "Stored; the mapping is paused"
    HELD = "held", "Kept raw; the device is not in a project"
    REFUSED = "refused", "Refused"


DATA_READ = {"view": "can_read_stream_data", "add": "can_create_stream_data", "change": "can_modify_device"}
DEVICES_READ = {
    "view": "can_read_stream_ids",
    "add": "can_modify_device",
    "change": "can_modify_device",
    "delete": "can_modify_device",
}
MAPPING_PERMISSIONS = {
    "view": "can_read_stream_ids",
    "add": "can_manage_stream_aliases",
    "change": "can_manage_stream_aliases",
    "delete": "can_manage_stream_aliases",
}


class RawMessage(models.Model):
    """A message as it arrived, stored before it is parsed, with its correlation id and what became of it.
    ``data_ids`` are the ``StreamData`` rows made from it (the trace from a value back to its message);
    ``values_pending`` says they may not all be stored yet, until the mending job has seen them (docs/telemetry.md)."""

    id = models.BigAutoField(primary_key=True)
    correlation_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=8, choices=RawMessageSource.choices)
    source_message_id = models.CharField(max_length=200)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    device = models.ForeignKey("device.Device", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    logical_device = models.ForeignKey(
        "telemetry.LogicalDevice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()
    body = models.TextField()
    status = models.CharField(max_length=8, choices=RawMessageStatus.choices)
    error = models.TextField(blank=True)
    data_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    values_pending = models.BooleanField(default=False, db_default=False)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = DATA_READ

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # A message delivered again is stored once (ON CONFLICT DO NOTHING).
            models.UniqueConstraint(fields=["source", "source_message_id"], name="rawmessage_unique_source_id"),
        ]
        indexes = [
            models.Index(fields=["org", "-received_at"], name="rawmessage_org_time"),
            models.Index(fields=["device", "-received_at"], name="rawmessage_device_time"),
            GinIndex(fields=["data_ids"], name="rawmessage_data_ids"),
            # The mending job's scan: only the rows it has not seen yet.
            models.Index(fields=["received_at"], condition=Q(values_pending=True), name="rawmessage_values_pending"),
        ]

    def __str__(self) -> str:
        return str(self.correlation_id)


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
READ_RAW_MESSAGES = Ability("view_rawmessage", RawMessage, "view")


class PhysicalDevice(CreatedModel):
    """A device's telemetry identity (IoTa's physical device): where its messages come from and the keys that find
    it (``source_ids``; ``source_key`` is the one an ingest looks it up by, such as a LoRaWAN ``dev_eui``)."""

    device = models.OneToOneField("device.Device", on_delete=models.CASCADE, primary_key=True, related_name="physical")
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="+")
    source_name = models.CharField(max_length=40, blank=True)
    source_key = models.CharField(max_length=100, blank=True)
    source_ids = models.JSONField(default=dict, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = DEVICES_READ

    class Meta:
        ordering = ["device"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_name", "source_key"], condition=~Q(source_key=""), name="physicaldevice_source_key"
            ),
        ]
        indexes = [GinIndex(fields=["source_ids"], name="physicaldevice_source_ids")]

    def __str__(self) -> str:
        return f"pd {self.device_id}"


class LogicalDevice(CreatedModel):
    """A destination that outlives the sensors feeding it (IoTa's logical device). Its series are stream aliases,
    one per key (:class:`LogicalSeries`)."""

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("project.Project", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    lat = models.DecimalField(
        max_digits=12, decimal_places=9, null=True, blank=True, validators=within_degrees(MAX_LATITUDE)
    )
    lon = models.DecimalField(
        max_digits=12, decimal_places=9, null=True, blank=True, validators=within_degrees(MAX_LONGITUDE)
    )
    properties = models.JSONField(default=dict, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = MAPPING_PERMISSIONS

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"ld {self.pk}"


class LogicalSeries(models.Model):
    """One key of a logical device: the stream alias that reads it across the physical devices mapped over time."""

    logical_device = models.ForeignKey(LogicalDevice, on_delete=models.CASCADE, related_name="series")
    name = models.CharField(max_length=60)
    alias = models.OneToOneField("streamalias.StreamAlias", on_delete=models.CASCADE, related_name="logical_series")

    class Meta:
        ordering = ["logical_device", "name"]
        constraints = [
            models.UniqueConstraint(fields=["logical_device", "name"], name="logicalseries_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.logical_device_id}: {self.name}"


class DeviceMapping(CreatedModel):
    """From ``start`` (to ``end``; None: still current) the physical device feeds the logical one;
    ``is_active`` False pauses it. Never deleted: the rows are the history, and ``history`` lists each change."""

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="+")
    physical_device = models.ForeignKey(PhysicalDevice, on_delete=models.CASCADE, related_name="mappings")
    logical_device = models.ForeignKey(LogicalDevice, on_delete=models.CASCADE, related_name="mappings")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    history = models.JSONField(default=list, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = MAPPING_PERMISSIONS

    class Meta:
        ordering = ["-start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["physical_device"], condition=Q(end__isnull=True), name="devicemapping_one_current_per_pd"
            ),
            models.UniqueConstraint(
                fields=["logical_device"], condition=Q(end__isnull=True), name="devicemapping_one_current_per_ld"
            ),
            models.UniqueConstraint(fields=["logical_device", "start"], name="devicemapping_unique_ld_start"),
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gt=F("start")), name="devicemapping_end"),
        ]

    def __str__(self) -> str:
        return f"{self.physical_device_id} → {self.logical_device_id} from {self.start:%Y-%m-%d %H:%M}"


def integration_secret_new() -> str:
    return secrets.token_urlsafe(32)


class TtnIntegration(CreatedModel):
    """A The Things Stack application's webhook into one project; its requests carry ``secret`` in the
    ``X-Integration-Secret`` header."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("project.Project", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    secret = models.CharField(max_length=100, default=integration_secret_new)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_modify_device",
        "add": "can_modify_device",
        "change": "can_modify_device",
        "delete": "can_modify_device",
    }

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
