"""Spreadsheet formula injection: imported cells are stored verbatim as text; every CSV/XLSX export
passes its cells through `escape_formula` so a cell such as `=HYPERLINK(...)` opens as text.

A cell that is a plain number (`-5.00`, `+3`) is left alone: it cannot be a formula and a leading
quote would turn a number into text."""

import re
from collections.abc import Iterable

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
