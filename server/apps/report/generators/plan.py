"""What a generator writes: a report's streams, each with its summary and its rows (every reading, or one row per
time bucket) read lazily, and a ``progress`` callback the generator calls as rows go out. Generators only format;
reading is in ``report.selectors``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from server.apps.report.models import ReportAggregation
from server.apps.report.selectors import StreamSummary, stream_bucket_rows, stream_readings
from server.apps.stream.models import StreamId

READING_COLUMNS = ("timestamp", "value")
BUCKET_COLUMNS = ("bucket_start", "count", "mean", "min", "max")
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
SUMMARY_COLUMNS = ("stream", "label", "units", "count", "first", "last", "mean", "min", "max")


@dataclass(frozen=True)
class ReportSection:
    stream: StreamId
    summary: StreamSummary
    start: datetime | None
    end: datetime | None
    aggregation: str

    @property
    def label(self) -> str:
        return self.stream.display_label or self.stream.slug

    @property
    def units(self) -> str:
        unit = self.stream.output_unit
        return unit.unit_short if unit is not None else ""

    @property
    def row_count(self) -> int:
        """Rows ``rows()`` yields for raw readings; for buckets only an upper bound (used for progress)."""
        return self.summary.count

    def rows(self) -> Iterator[tuple[Any, ...]]:
        if self.aggregation == ReportAggregation.RAW:
            return stream_readings(stream=self.stream, start=self.start, end=self.end)
        return stream_bucket_rows(stream=self.stream, start=self.start, end=self.end, aggregation=self.aggregation)

    def summary_row(self) -> tuple[Any, ...]:
        s = self.summary
        return (self.stream.slug, self.label, self.units, s.count, s.first, s.last, s.mean, s.minimum, s.maximum)


@dataclass
class ReportPlan:
    title: str
    start: datetime | None
    end: datetime | None
    aggregation: str
    sections: list[ReportSection]
    # Called with the number of rows just written; the service turns it into a percentage.
    progress: Callable[[int], None] = field(default=lambda rows: None)

    @property
    def raw(self) -> bool:
        return self.aggregation == ReportAggregation.RAW

    @property
    def columns(self) -> tuple[str, ...]:
        return READING_COLUMNS if self.raw else BUCKET_COLUMNS


def iso(value: datetime | None) -> str:
    """A timestamp as ISO 8601 in UTC, to the microsecond, with a ``Z`` (the bulk export's form too)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime(ISO_FORMAT)
