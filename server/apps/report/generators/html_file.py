"""HTML: one page that needs nothing else (no script, no network): a summary table, a chart per stream drawn as
inline SVG from the stream's downsampled series (the mean per bucket, with the band from minimum to maximum, read
from the roll-ups), and, for an aggregated report, its table of buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, BinaryIO

from django.template.loader import render_to_string
from django.utils import timezone

from server.apps.report.generators.plan import ReportPlan, ReportSection
from server.apps.streamdata.selectors.series import stream_data_series

# An aggregated report's page lists at most this many buckets per stream (the CSV and XLSX hold them all).
TABLE_ROWS = 2000
WIDTH, HEIGHT, PAD = 760, 220, 40


@dataclass(frozen=True)
class Chart:
    line: str
    band: str
    y_labels: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    points: int


def _chart(section: ReportSection) -> Chart | None:
    summary = section.summary
    if not summary.count or summary.first is None or summary.last is None:
        return None
    # The readings' span in the window: a window of years around them would squeeze them into one pixel.
    start, end = summary.first, summary.last + timedelta(microseconds=1)
    series = stream_data_series(stream=section.stream, start=start, end=end)
    values = [v for v in series.values if v is not None]
    if not values:
        return None
    lows = [v for v in (series.lower or []) if v is not None]
    highs = [v for v in (series.upper or []) if v is not None]
    y_min, y_max = min(values + lows), max(values + highs)
    if y_min == y_max:
        y_min, y_max = y_min - 1, y_max + 1
    x_min, x_max = start.timestamp(), end.timestamp()
    span = (x_max - x_min) or 1.0

    def px(x: float) -> float:
        return round(PAD + (x - x_min) / span * (WIDTH - 2 * PAD), 1)

    def py(y: float) -> float:
        return round(HEIGHT - PAD - (y - y_min) / (y_max - y_min) * (HEIGHT - 2 * PAD), 1)

    line = " ".join(f"{px(x)},{py(v)}" for x, v in zip(series.x, series.values, strict=True) if v is not None)
    band = ""
    if series.lower and series.upper:
        top = [f"{px(x)},{py(u)}" for x, u in zip(series.x, series.upper, strict=True) if u is not None]
        bottom = [f"{px(x)},{py(lo)}" for x, lo in zip(series.x, series.lower, strict=True) if lo is not None]
        band = " ".join(top + bottom[::-1])
    y_labels = [(py(y), f"{y:.6g}") for y in (y_min, (y_min + y_max) / 2, y_max)]
    x_labels = [
        (px(x), datetime.fromtimestamp(x, UTC).strftime("%Y-%m-%d %H:%M")) for x in (x_min, (x_min + x_max) / 2, x_max)
    ]
    return Chart(line=line, band=band, y_labels=y_labels, x_labels=x_labels, points=len(series.x))


def write_html(plan: ReportPlan, out: BinaryIO) -> int:
    """Write the report to ``out``; returns the bucket rows listed (0 for a report of every reading)."""
    streams: list[dict[str, Any]] = []
    written = 0
    for section in plan.sections:
        rows = [] if plan.raw else list(islice(section.rows(), TABLE_ROWS + 1))
        streams.append(
            {
                "section": section,
                "chart": _chart(section),
                "rows": rows[:TABLE_ROWS],
                "cut": len(rows) > TABLE_ROWS,
            }
        )
        written += min(len(rows), TABLE_ROWS)
        plan.progress(section.row_count)
    page = render_to_string(
        "report/file.html",
        {
            "plan": plan,
            "streams": streams,
            "columns": plan.columns,
            "width": WIDTH,
            "height": HEIGHT,
            "pad": PAD,
            "generated_on": timezone.now(),
            "table_rows": TABLE_ROWS,
        },
    )
    out.write(page.encode("utf-8"))
    return written
