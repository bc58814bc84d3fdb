"""Time-series rows. They live in the ``streamdata`` database and name their stream by slug, never by key."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class StreamDataStatus(models.TextChoices):
    UNKNOWN = "unk", "Unknown"
    CLEAN = "cln", "Clean"
    DIRTY = "drt", "Dirty (re-based after a reboot)"
    UTC = "utc", "UTC timestamp from the device clock"


class StreamDataType(models.TextChoices):
    NUMERIC = "Num", "Numeric"
    INTEGER_TO_REAL = "ITR", "Integer converted to real"
    P0 = "P-0", "Pointer to event data"
    P1 = "P-1", "Pointer to event data (1)"
    PE = "P-E", "Pointer to an event"


# Slugs are ASCII identifiers: the byte-order "C" collation sorts them as any other would, and lets the indexes on
# them compare bytes instead of calling the locale's collation (cheaper index maintenance at ingest, cheaper scans).
SLUG_COLLATION = "C"


class StreamData(models.Model):
    database_alias = "streamdata"

    id = models.BigAutoField(primary_key=True)
    stream_slug = models.CharField(max_length=48, db_collation=SLUG_COLLATION)
    project_slug = models.CharField(max_length=16, db_collation=SLUG_COLLATION, blank=True)
    device_slug = models.CharField(max_length=24, db_collation=SLUG_COLLATION, blank=True)
    variable_slug = models.CharField(max_length=32, db_collation=SLUG_COLLATION, blank=True)
    device_timestamp = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    streamer_local_id = models.BigIntegerField(default=0)
    int_value = models.BigIntegerField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=3, choices=StreamDataStatus.choices, default=StreamDataStatus.UNKNOWN)
    type = models.CharField(max_length=3, choices=StreamDataType.choices, default=StreamDataType.NUMERIC)
    dirty_ts = models.BooleanField(default=False)

    class Meta:
        ordering = ["stream_slug", "timestamp"]
        indexes = [
            models.Index(fields=["stream_slug", "timestamp"], name="streamdata_stream_time"),
            models.Index(fields=["device_slug", "timestamp"], name="streamdata_device_time"),
        ]
        constraints = [
            # A reading with a streamer id is stored once: re-ingesting it is a no-op (ON CONFLICT DO NOTHING).
            # The same index serves lookups by (stream, streamer_local_id).
            models.UniqueConstraint(
                fields=["stream_slug", "streamer_local_id"],
                condition=Q(streamer_local_id__gt=0),
                name="streamdata_unique_stream_reading",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stream_slug}@{self.timestamp}: {self.value}"
