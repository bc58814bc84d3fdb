"""Events: readings with a structured summary (``extra_data``) and an optional payload kept in the events store."""

from __future__ import annotations

import uuid

from django.db import models

from server.apps.core.scoping import ScopedQuerySet


class StreamEventData(models.Model):
    id = models.BigAutoField(primary_key=True)
    # Unique with the timestamp (the partition key: the table is partitioned by month, docs/retention.md); the
    # write path (``streamevent.services.stream_events_bulk_insert``) skips a uuid stored in any partition.
    uuid = models.UUIDField(default=uuid.uuid4, editable=False)
    # The ``StreamId.series`` of the stream holding the event, as for stream data (docs/databases.md); the API shows
    # the stream's slugs (``streamevent.selectors.event_list`` reads them with the events).
    series = models.IntegerField()
    # The organisation is kept on the row so events are scoped like everything else, without parsing slugs.
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    device_timestamp = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    streamer_local_id = models.BigIntegerField(default=0)
    status = models.CharField(max_length=3, default="unk")
    dirty_ts = models.BooleanField(default=False)
    extra_data = models.JSONField(default=dict, blank=True)
    # Key of the payload in the events store; empty when the event has no payload.
    data_key = models.CharField(max_length=400, blank=True)
    format_version = models.PositiveSmallIntegerField(default=2)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_read_stream_data",
        "add": "can_create_stream_data",
        "change": "can_create_stream_data",
        "delete": "can_create_stream_data",
    }

    class Meta:
        ordering = ["series", "timestamp"]
        indexes = [
            models.Index(fields=["series", "timestamp"], name="streamevent_series_time"),
            models.Index(fields=["id"], name="streamevent_row_id"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "streamer_local_id", "timestamp"],
                condition=models.Q(streamer_local_id__gt=0),
                name="streamevent_unique_series_reading",
                nulls_distinct=False,
            ),
            models.UniqueConstraint(fields=["uuid", "timestamp"], name="streamevent_unique_uuid", nulls_distinct=False),
        ]

    def __str__(self) -> str:
        return f"{self.series}@{self.timestamp}"

    @property
    def has_raw_data(self) -> bool:
        return bool(self.data_key)
