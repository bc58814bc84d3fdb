"""Time-series rows. They live in the ``streamdata`` database and name their stream by series id, never by key."""

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


class StreamData(models.Model):
    """One reading of a stream. ``series`` is the ``StreamId.series`` of the stream that holds it (an integer from
    the default database: no key crosses the databases); the API shows the stream's slugs, which the selectors take
    from the ``StreamId``."""

    database_alias = "streamdata"

    id = models.BigAutoField(primary_key=True)
    series = models.IntegerField()
    device_timestamp = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    streamer_local_id = models.BigIntegerField(default=0)
    int_value = models.BigIntegerField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=3, choices=StreamDataStatus.choices, default=StreamDataStatus.UNKNOWN)
    type = models.CharField(max_length=3, choices=StreamDataType.choices, default=StreamDataType.NUMERIC)
    dirty_ts = models.BooleanField(default=False)

    class Meta:
        ordering = ["series", "timestamp"]
        # The table is partitioned by month of ``timestamp`` (migration 0005, ``streamdata.partitions``): ``id`` is
        # indexed but is no primary key, which a partitioned table could only have with the timestamp in it.
        indexes = [
            models.Index(fields=["series", "timestamp"], name="streamdata_series_time"),
            models.Index(fields=["id"], name="streamdata_row_id"),
        ]
        constraints = [
            # A unique index on a partitioned table holds the partition key. A reading re-sent with the same time
            # is refused by it; one re-sent with another time (another report's time base) is skipped by the write
            # paths' lookup on (series, streamer_local_id), under a range claim (docs/databases.md). The same index
            # serves that lookup.
            models.UniqueConstraint(
                fields=["series", "streamer_local_id", "timestamp"],
                condition=Q(streamer_local_id__gt=0),
                name="streamdata_unique_series_reading",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.series}@{self.timestamp}: {self.value}"


# The roll-up resolutions, in seconds: a minute, an hour, a day. A chart's bucket width is a whole multiple of one of
# them (streamdata.selectors.series), and every bucket is aligned on the epoch. Each is a whole number of minutes:
# the roll-ups are summed from per-minute sums (streamdata.services.rollup_upsert_sql).
ROLLUP_RESOLUTIONS = (60, 3600, 86400)


class StreamDataRollup(models.Model):
    """Per series, per resolution, per time bucket: how many readings have a value, and their sum, minimum and
    maximum. Bucket ``k`` at resolution ``r`` covers ``[k·r, (k+1)·r)`` epoch seconds. Kept by every write of rows
    (ingest and the API, in the same transaction as the rows: only rows actually inserted count) and by their
    deletion, so a chart reads a few thousand of these instead of millions of rows (docs/databases.md)."""

    database_alias = "streamdata"

    # Keyed by the bucket itself: the one index each write of a bucket updates, and what ON CONFLICT finds it by.
    pk = models.CompositePrimaryKey("series", "resolution", "bucket")
    series = models.IntegerField()
    resolution = models.IntegerField()
    bucket = models.BigIntegerField()
    count = models.BigIntegerField()
    sum = models.FloatField(null=True)
    min = models.FloatField(null=True)
    max = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"{self.series}@{self.bucket}x{self.resolution}s: {self.count}"
