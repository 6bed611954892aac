"""Exports every page shares: CSV/XLSX attachments, and their defence against spreadsheet formula
injection. Imported cells are stored verbatim as text; every CSV/XLSX export passes its cells through
`escape_formula` so a cell such as `=HYPERLINK(...)` opens as text.

A cell that is a plain number (`-5.00`, `+3`) is left alone: it cannot be a formula and a leading
quote would turn a number into text."""

import csv
import io
import re
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from openpyxl import Workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def escape_formula(value):
    """The value to write into an exported cell: strings that a spreadsheet would evaluate get a
    leading `'`; numbers, dates, None and harmless strings are returned unchanged."""
    if not isinstance(value, str) or not value or not value.startswith(FORMULA_PREFIXES):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def escape_row(values: Iterable) -> list:
    return [escape_formula(v) for v in values]


EXPORT_FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_response(*, headers: Sequence[str], rows: Iterable[Sequence], fmt: str, filename: str) -> HttpResponse:
    """An attachment holding `headers` then `rows`, every cell through `escape_formula` (formula
    injection); no rows gives a file with the headers only."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(escape_row(headers))
        for row in rows:
            writer.writerow(["" if v is None else v for v in escape_row(row)])
        body = buffer.getvalue().encode("utf-8")
    else:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Customers")
        sheet.append(escape_row(headers))
        for row in rows:
            sheet.append(escape_row(row))
        out = io.BytesIO()
        workbook.save(out)
        body = out.getvalue()
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
