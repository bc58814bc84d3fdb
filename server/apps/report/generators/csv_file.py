"""CSV: one table of every stream's rows, each row led by its stream's slug. Values are written with full precision
(Python's shortest round-trip form), timestamps as ISO 8601 UTC."""

from __future__ import annotations

import csv
import io
from itertools import islice
from typing import BinaryIO

from server.apps.report.generators.plan import ReportPlan, iso

CHUNK = 10_000


def write_csv(plan: ReportPlan, out: BinaryIO) -> int:
    """Write the report to ``out``; returns the rows written (header left out)."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(("stream", *plan.columns))
    written = 0
    for section in plan.sections:
        slug = section.stream.slug
        rows = section.rows()
        while chunk := list(islice(rows, CHUNK)):
            writer.writerows((slug, iso(row[0]), *row[1:]) for row in chunk)
            written += len(chunk)
            plan.progress(len(chunk))
    text.flush()
    text.detach()
    return written
