"""XLSX: a summary sheet (one row per stream), then one sheet per stream with its rows (continued on further sheets
past Excel's 1,048,576 rows). Written by xlsxwriter in constant-memory mode: each row goes to disk as it is
written, so a sheet of a million rows takes no more memory than one of ten."""

from __future__ import annotations

from typing import Any, BinaryIO

import xlsxwriter

from server.apps.report.generators.plan import SUMMARY_COLUMNS, ReportPlan

# Excel's last row is 1,048,576; the header takes one.
SHEET_ROWS = 1_048_575
PROGRESS_EVERY = 10_000
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss.000"


def _sheet_name(index: int, label: str, part: int) -> str:
    # At most 31 characters, none of []:*?/\ ; unique by the leading index.
    clean = "".join(" " if c in "[]:*?/\\" else c for c in label)
    suffix = f" ({part})" if part > 1 else ""
    return f"{index} {clean}"[: 31 - len(suffix)] + suffix


def write_xlsx(plan: ReportPlan, out: BinaryIO) -> int:
    """Write the report to ``out``; returns the data rows written (headers left out)."""
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "remove_timezone": True, "in_memory": False})
    bold = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": TIME_FORMAT})

    def cell(sheet: Any, row: int, column: int, value: Any) -> None:
        if value is None:
            return
        if hasattr(value, "tzinfo"):
            sheet.write_datetime(row, column, value, when)
        else:
            sheet.write(row, column, value)

    summary = workbook.add_worksheet("Summary")
    summary.write_row(0, 0, SUMMARY_COLUMNS, bold)
    for row, section in enumerate(plan.sections, start=1):
        for column, value in enumerate(section.summary_row()):
            cell(summary, row, column, value)
    summary.set_column(0, 0, 40)
    summary.set_column(4, 5, 24)

    written = 0
    for index, section in enumerate(plan.sections, start=1):
        part, sheet, row, pending = 0, None, SHEET_ROWS, 0
        for values in section.rows():
            if row >= SHEET_ROWS:
                part += 1
                sheet = workbook.add_worksheet(_sheet_name(index, section.label, part))
                sheet.write_row(0, 0, plan.columns, bold)
                sheet.set_column(0, 0, 24)
                row = 0
            row += 1
            for column, value in enumerate(values):
                cell(sheet, row, column, value)
            pending += 1
            if pending == PROGRESS_EVERY:
                plan.progress(pending)
                written, pending = written + pending, 0
        if sheet is None:
            empty = workbook.add_worksheet(_sheet_name(index, section.label, 1))
            empty.write_row(0, 0, plan.columns, bold)
        plan.progress(pending)
        written += pending
    workbook.close()
    return written
