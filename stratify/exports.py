"""Exports every page shares: CSV/XLSX attachments a person can use, and their defence against
spreadsheet formula injection.

Cells are typed: wrap an amount in `Money` and a ratio in `Percent`; dates, datetimes, numbers and text
are written as what they are.

- money is rounded to the cent (half-even, from the exact amount): CSV `1234.57`, XLSX a number shown
  `#,##0.00`; the caller names the currency in the header ("Revenue (EUR)");
- a `Percent` (a ratio, 0.2345) is a percentage: CSV `23.45` under a header that says "%", XLSX the
  number 0.2345 shown as `23.45%`;
- dates are dates (CSV ISO `2026-11-29`, XLSX date cells); datetimes are in the local time zone;
- text: in CSV, a cell a spreadsheet would evaluate (`=HYPERLINK(...)`, `+cmd`, `@SUM`) gets a leading
  `'` (`escape_formula`); in XLSX every text cell is stored as text (a string cell, quotePrefix), so it
  shows exactly as typed, without an apostrophe, and never runs.

A text cell that is a plain number (`-5.00`, `+3`) is left alone in CSV: it cannot be a formula and a
leading quote would turn a number into text."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .formatting import money_decimal, to_decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount for an export: rounded to the cent when written."""

    value: object


@dataclass(frozen=True, slots=True)
class Percent:
    """A ratio (0.2345) for an export: written as a percentage (CSV 23.45, XLSX 23.45%)."""

    value: object


def escape_formula(value):
    """The value to write into an exported CSV cell: strings that a spreadsheet would evaluate get a
    leading `'`; numbers, dates, None and harmless strings are returned unchanged."""
    if not isinstance(value, str) or not value or not value.startswith(FORMULA_PREFIXES):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def escape_row(values: Iterable) -> list:
    return [escape_formula(v) for v in values]


def _local(value: datetime) -> datetime:
    """Spreadsheets have no time zones: an aware datetime in the local zone, without tzinfo."""
    return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value


def _ratio(value) -> Decimal | None:
    ratio = to_decimal(value)
    return ratio if ratio is not None and ratio.is_finite() else None


def csv_cell(value) -> str:
    """One CSV cell's text."""
    if value is None:
        return ""
    if isinstance(value, Money):
        amount = money_decimal(value.value)
        return "" if amount is None else f"{amount:.2f}"
    if isinstance(value, Percent):
        ratio = _ratio(value.value)
        return "" if ratio is None else f"{ratio * 100:.2f}"
    if isinstance(value, datetime):
        return _local(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return escape_formula(value)
    return str(value)


def xlsx_cell(sheet, value):
    """One XLSX cell: numbers as numbers, dates as dates, text always as text (never a formula)."""
    if isinstance(value, Money):
        amount = money_decimal(value.value)
        cell = WriteOnlyCell(sheet, value=amount)
        cell.number_format = MONEY_FORMAT
        return cell
    if isinstance(value, Percent):
        ratio = _ratio(value.value)
        cell = WriteOnlyCell(sheet, value=None if ratio is None else round(float(ratio), 6))
        cell.number_format = PERCENT_FORMAT
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=_local(value))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, float) and not math.isfinite(value):
        return WriteOnlyCell(sheet, value=None)
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value="yes" if value else "no")
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        if cell.data_type != "s":  # openpyxl reads a leading "=" as a formula: store it as text
            cell.data_type = "s"
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True  # Excel keeps it text when the cell is edited, shows no apostrophe
        return cell
    return WriteOnlyCell(sheet, value=value)


EXPORT_FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_response(
    *, headers: Sequence[str], rows: Iterable[Sequence], fmt: str, filename: str, sheet: str = "Export"
) -> HttpResponse:
    """An attachment holding `headers` then `rows` (cells typed as described above, text protected
    against formula injection); no rows gives a file with the headers only."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([csv_cell(h) for h in headers])
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
        body = buffer.getvalue().encode("utf-8")
    else:
        workbook = Workbook(write_only=True)
        worksheet = workbook.create_sheet(sheet[:31])
        worksheet.append([xlsx_cell(worksheet, h) for h in headers])
        for row in rows:
            worksheet.append([xlsx_cell(worksheet, v) for v in row])
        out = io.BytesIO()
        workbook.save(out)
        body = out.getvalue()
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def csv_attachment(body: str | bytes | Iterable[str], filename: str) -> HttpResponse | StreamingHttpResponse:
    """A CSV as a download named `filename`: already written, or streamed from an iterable of blocks."""
    if isinstance(body, str | bytes):
        response = HttpResponse(body, content_type=CONTENT_TYPES["csv"])
    else:
        response = StreamingHttpResponse(body, content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
