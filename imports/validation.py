"""Turning a chunk of text cells into canonical, typed, checked columns, a whole column at a time.

`resolve_plan` fixes once which file column (or `A - B` expression) feeds each canonical column;
`validate_chunk` checks every cell of a chunk with vectorised pandas operations, records each bad
cell (row, column, value, reason) and returns the good rows in the staging layout: text for text
columns, exact decimal strings for money (never floats, so 0.1 stays 0.1), ISO dates, nullable
integers and booleans."""

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ErrorLog, ImportFailed
from .formats import BOOL, CHOICE, DATE, DECIMAL, INT, TEXT, Column, Kind, detect_columns, normalize_header

TRUE_WORDS = {"1", "true", "t", "yes", "y", "x", "on"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "off"}
MAX_ABS_DECIMAL = 10**14  # numeric(18, 4)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_OPERATOR = re.compile(r"\s+([+-])\s+")
_MONEY_NOISE = re.compile(r"[\s$€£¥]|,(?=\d{3}(?:\D|$))")
_CHOICE_NOISE = re.compile(r"[\s\-/]+")
INTERACTION_KEY_COLUMNS = ("customer_id", "date", "kind", "rep_id", "channel", "summary")


@dataclass(frozen=True)
class Expr:
    """`Sales - Profit`: a signed sum of numeric file columns (parsed here, never eval'd)."""

    text: str
    terms: tuple[tuple[int, str], ...]

    @property
    def headers(self) -> list[str]:
        return [h for _, h in self.terms]


@dataclass
class Plan:
    kind: Kind
    sources: dict[str, "str | Expr"]
    date_format: str | None = None
    headers: list[str] = field(default_factory=list)
    # A semicolon-separated CSV may write numbers with a decimal comma (Excel and ERPs in locales whose
    # decimal mark is the comma choose ";" for that reason): `20,98` is 20.98 and `1.234,50` 1234.5
    # there (`decimal_comma_text`); elsewhere the comma only groups thousands (`1,234.50`). A value
    # that could be either (`2,500`) is refused, not guessed: it would be 2500 in one file, 2.5 in
    # the next.
    decimal_comma: bool = False

    @property
    def present(self) -> set[str]:
        return set(self.sources)

    def describe(self) -> dict[str, str]:
        return {name: (src.text if isinstance(src, Expr) else src) for name, src in self.sources.items()}


# Columns of invoice lines that only describe the customer or product a line names: they are
# collected per customer/product while the file is read (see loading.Stage) instead of being staged
# with every line.
LINE_DESCRIPTIONS = ("customer_name", "customer_class", "product_name", "category", "brand", "supplier_id")


def stage_columns(kind: Kind) -> list[str]:
    """The staging table's columns for a kind: its canonical columns, the derived key, the row number."""
    extra = ["natural_key"] if kind.name == "interactions" else []
    skip = LINE_DESCRIPTIONS if kind.name == "invoice_lines" else ()
    return [*(n for n in kind.names if n not in skip), *extra, "_row"]


def _find_header(value: str, headers: list[str]) -> str | None:
    """The file's column `value` names: itself, else one equal to it ignoring case and punctuation,
    but never across a sign left dangling at either end (`Sales -` or `-Profit` are not `Sales` and
    `Profit`: a mistyped formula would import the wrong figure)."""
    if value in headers:
        return value
    wanted, signs = normalize_header(value), _dangling(value)
    for header in headers:
        if normalize_header(header) == wanted and _dangling(header) == signs:
            return header
    return None


def _dangling(text: str) -> tuple[bool, bool]:
    """Whether `text` starts, and whether it ends, with a + or - sign."""
    text = text.strip()
    return text[:1] in ("+", "-"), text[-1:] in ("+", "-")


# strptime's directives (https://docs.python.org/3/library/datetime.html#format-codes).
_DIRECTIVES = set("aAwdbBmyYHIpMSfzZjUWcxXGuV%")
_DIRECTIVE = re.compile(r"%(.)", re.DOTALL)


def check_date_format(date_format: str) -> None:
    """ImportFailed for a date format with no directive or one strptime does not know (%Q)."""
    if "%" not in date_format:
        raise ImportFailed(f"The date format {date_format!r} has no % directive (e.g. %m/%d/%Y).")
    unknown = sorted({d for d in _DIRECTIVE.findall(date_format) if d not in _DIRECTIVES})
    if unknown or "%" in _DIRECTIVE.sub("", date_format):  # a % with nothing after it
        shown = ", ".join(f"%{d}" for d in unknown) or "a lone %"
        raise ImportFailed(
            f"The date format {date_format!r} is not a date format: {shown} is not a directive (use e.g. %d for "
            "the day, %m the month, %Y the year: %d/%m/%Y)."
        )


def parse_source(value: str, headers: list[str], column: Column) -> "str | Expr":
    """A mapping value: a file column (exact, else ignoring case and punctuation) or, for numeric
    columns, `A - B` / `A + B - C` with spaces around each operator (so `Sub-Category` stays a name)."""
    header = _find_header(value, headers)
    if header is not None:
        return header
    parts = _OPERATOR.split(value.strip())
    if len(parts) >= 3 and column.type in (DECIMAL, INT):
        terms, sign = [], 1
        for i, part in enumerate(parts):
            if i % 2:
                sign = 1 if part == "+" else -1
                continue
            found = _find_header(part.strip(), headers)
            if found is None:
                raise ImportFailed(
                    f"The mapping for {column.name!r} names {part.strip()!r}, which is not a column of the file."
                )
            terms.append((sign, found))
        return Expr(value.strip(), tuple(terms))
    raise ImportFailed(
        f"The mapping for {column.name!r} names {value!r}, which is not a column of the file"
        f" (columns: {', '.join(headers)})."
    )


def resolve_plan(kind: Kind, headers: list[str], mapping: dict | None = None, date_format: str | None = None) -> Plan:
    """Which source feeds each canonical column: the explicit mapping first (an empty value drops a
    column), then names and aliases for the rest. Fails with one message naming what is missing."""
    mapping = dict(mapping or {})
    if date_format is not None and date_format != "":
        check_date_format(date_format)
    unknown = [name for name in mapping if name not in kind.names]
    if unknown:
        raise ImportFailed(
            f"The mapping names {', '.join(map(repr, unknown))}, not columns of {kind.name}"
            f" (expected some of: {', '.join(kind.names)})."
        )
    sources: dict[str, str | Expr] = {}
    for name, value in mapping.items():
        if value is None or str(value).strip() == "":
            continue
        if not isinstance(value, str):
            raise ImportFailed(f"The mapping for {name!r} must be a column name.")
        sources[name] = parse_source(value, headers, kind.column(name))
    # A column an expression reads (`Sales` in `Sales - Profit`) may still feed a column of its own.
    used = {s for s in sources.values() if isinstance(s, str)}
    remaining = [h for h in headers if h not in used]
    for name, header in detect_columns(kind, remaining).items():
        if name not in sources and name not in mapping:
            sources[name] = header
    missing = [name for name in kind.required if name not in sources]
    if missing:
        errors = [{"row": None, "column": name, "value": "", "reason": "required column missing"} for name in missing]
        raise ImportFailed(missing_columns_message(kind, headers, missing, usable=bool(sources)), errors)
    ordered = {name: sources[name] for name in kind.names if name in sources}
    return Plan(kind=kind, sources=ordered, date_format=date_format or None, headers=headers)


def missing_columns_message(kind: Kind, headers: list[str], missing: list[str], usable: bool) -> str:
    """In words: which required columns are missing, what the file has, and how to map them."""
    label = kind.name.replace("_", " ")
    shown = ", ".join(headers[:30]) + (f" and {len(headers) - 30} more" if len(headers) > 30 else "")
    text = f"Missing required column{'s' if len(missing) > 1 else ''} for {kind.name}: {', '.join(missing)}."
    if not usable:
        text += (
            f" None of the file's columns ({shown or 'none'}) is a column of {label} that Stratify recognises:"
            " is it the right file, and does its first row hold the column names?"
        )
    else:
        text += f" The file's columns are: {shown or '(none)'}."
    return text + (
        " In the mapping step, choose the file column that holds each of them"
        " (from the command line or the API: give a mapping)."
    )


# --- the date format ------------------------------------------------------------------------------

ISO_FORMAT = "%Y-%m-%d"
# Suggested to the user (the mapping step pre-fills the one that reads a column; an import uses a
# format only when it is chosen explicitly). Tried in this order; ISO first (and alone when it reads
# every value).
DATE_FORMATS = (
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
    "%Y%m%d",
)
DATE_SAMPLE = 1000
# What may follow `YYYY-MM-DD` in an ISO cell: a time (ERPs export `2026-03-02 00:00:00` or
# `2026-03-02T10:15:00`), with an optional UTC offset. It is dropped: the date is the calendar day
# written in the file, never shifted to another time zone.
_ISO_TIME = r"[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?\s*(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?"
_PARTIAL_ISO = r"\d{4}(?:-\d{1,2})?"
# A UTC offset ending a cell, for explicit formats ending in %z / %Z (see _explicit_dates).
_TRAILING_ZONE = r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class DateGuess:
    """What a sample of date cells says: `format` when exactly one known format reads every value
    (ISO counts as "%Y-%m-%d"), else None; `candidates` every format that reads them all (several:
    ambiguous, e.g. 1/3/2014; none: not a format we know); `sample` the first value."""

    format: str | None
    candidates: list[str]
    sample: str = ""

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1

    def hint(self) -> str:
        if self.format:
            return f"try {self.format}"
        if self.ambiguous:
            return f"could be {' or '.join(self.candidates)}: choose the date format"
        return ""


def detect_date_format(values) -> DateGuess:
    """The format of date cells, from a sample (empty cells ignored; at most DATE_SAMPLE read), as a
    suggestion for the user to confirm. Refuses to guess between formats that all read the sample
    (month/day against day/month)."""
    cells = pd.Series([str(v).strip() for v in list(values)[:DATE_SAMPLE] if v is not None], dtype=object)
    cells = cells[cells != ""]
    if cells.empty:
        return DateGuess(None, [])
    sample = str(cells.iloc[0])
    if iso_dates(cells.astype(str)).notna().all():
        return DateGuess(ISO_FORMAT, [ISO_FORMAT], sample)
    read = {fmt: int(pd.to_datetime(cells, format=fmt, errors="coerce").notna().sum()) for fmt in DATE_FORMATS}
    candidates = [fmt for fmt, n in read.items() if n == len(cells)]
    if not candidates:
        # One mistyped date (31.02.2026) among a thousand must not hide the file's format: the formats
        # reading all but 1% of the sample are proposed; the import then names the odd cells.
        tolerated = len(cells) - len(cells) // 100
        candidates = [fmt for fmt, n in read.items() if n >= tolerated] if tolerated < len(cells) else []
    return DateGuess(candidates[0] if len(candidates) == 1 else None, candidates, sample)


def ambiguous_dates_message(column: str, guess: DateGuess) -> str:
    return (
        f"The dates of column {column!r} (e.g. {guess.sample!r}) could be {' or '.join(guess.candidates)}"
        " (month/day or day/month): Stratify does not guess; choose the date format."
    )


def not_iso_dates_message(column: str, guess: DateGuess) -> str:
    return (
        f"The dates of column {column!r} (e.g. {guess.sample!r}) are not ISO dates (YYYY-MM-DD); they look like"
        f" {guess.format}: choose that date format."
    )


def iso_dates(cells: pd.Series) -> pd.Series:
    """The calendar day of each cell written `YYYY-MM-DD`, optionally followed by a time and a UTC
    offset (dropped, never applied); NaT for anything else: partial dates (`2026-03`, `2026`),
    single-digit months or days, other formats. A file repeats its dates: when it does, each distinct
    text is read once (hashing a column costs less than slicing it)."""
    codes, uniques = pd.factorize(cells)
    if len(uniques) * 2 > len(cells):
        return _iso_days(cells)
    days = _iso_days(pd.Series(uniques, dtype=object).astype(cells.dtype)).to_numpy()
    days = np.append(days, np.datetime64("NaT").astype(days.dtype))  # code -1: an empty cell
    return pd.Series(days[codes], index=cells.index)


def _iso_days(cells: pd.Series) -> pd.Series:
    """iso_dates over every cell: the day is the first ten characters; the time parts, when there are
    any, are matched once per distinct text (at most a day's worth of distinct times)."""
    lengths = cells.str.len()
    longer = lengths > 10
    timed = bool(longer.any())
    day = cells.str.slice(0, 10) if timed else cells
    parsed = pd.to_datetime(day.where(lengths >= 10), format=ISO_FORMAT, errors="coerce")
    if timed:
        codes, times = pd.factorize(cells[longer].str.slice(10))
        well_formed = pd.Series(times, dtype=object).str.fullmatch(_ISO_TIME).to_numpy(dtype=bool)
        keep = pd.Series(True, index=cells.index)
        keep[longer] = well_formed[codes]
        parsed = parsed.where(keep)
    return parsed


def _explicit_dates(cells: pd.Series, fmt: str) -> pd.Series:
    """Cells read with the format the user chose. A format ending in a UTC offset (%z, %Z) reads the
    calendar day written, like ISO cells: the offset is cut from the format and the cells, so it is
    neither applied nor a cause of failure when rows carry different offsets."""
    zoned = fmt.rstrip()
    if zoned.endswith(("%z", "%Z")):
        fmt = zoned[:-2].rstrip()
        cells = cells.str.replace(_TRAILING_ZONE, "", regex=True)
    try:
        parsed = pd.to_datetime(cells, format=fmt, errors="coerce")
    except ValueError as error:  # an offset inside the format (not at its end) differing between rows
        raise ImportFailed(
            f"The date format {fmt!r} reads a time zone (%z) before its end, and the rows give different"
            " ones: put %z last, or leave the time out of the date format."
        ) from error
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)  # the wall-clock day written, not the UTC one
    return parsed


ISO_WORDS = "not an ISO date (YYYY-MM-DD)"
NOT_A_DATE = "not a date (expected YYYY-MM-DD)"


def _why_not_iso(cells: pd.Series) -> pd.Series:
    """For cells that are not ISO dates, why in words: incomplete, or in which known format they
    look written (one: choose it; several: which), or not a date at all. Worked out once per
    distinct value (a file repeats its dates), each format over all of them at once."""
    codes, uniques = pd.factorize(cells)
    values = pd.Series(uniques, dtype=object).astype(str)
    reads = {fmt: pd.to_datetime(values, format=fmt, errors="coerce").notna().to_numpy() for fmt in DATE_FORMATS}
    readable = np.logical_or.reduce(list(reads.values()))
    # The formats reading every readable value of the chunk: one file, one format.
    shared = [fmt for fmt, ok in reads.items() if readable.any() and ok[readable].all()]
    reasons = np.full(len(values), NOT_A_DATE, dtype=object)
    for i in np.flatnonzero(readable):
        candidates = shared or [fmt for fmt, ok in reads.items() if ok[i]]
        if len(candidates) == 1:
            reasons[i] = f"{ISO_WORDS}; it looks like {candidates[0]}: choose that date format"
        else:
            reasons[i] = f"{ISO_WORDS}; it could be {' or '.join(candidates)}: choose the date format"
    partial = values.str.fullmatch(_PARTIAL_ISO).to_numpy(dtype=bool)
    reasons[partial] = "incomplete date (expected YYYY-MM-DD, with the day)"
    return pd.Series(reasons[codes], index=cells.index, dtype=object)


# --- cell checks, one column at a time -------------------------------------------------------------


_EDGE_SPACES = (" \x00", "\x00 ", "\t\x00", "\x00\t")


def _text(cells: pd.Series) -> pd.Series:
    """Cells without surrounding spaces. Most columns have none: a few substring searches over the
    column joined into one string (C speed; files never hold NUL) save a per-cell strip."""
    if cells.dtype != "str":
        cells = cells.astype(str)
    joined = "\x00" + "\x00".join(cells.to_numpy(dtype=object)) + "\x00"
    if any(edge in joined for edge in _EDGE_SPACES):
        return cells.str.strip()
    return cells


def _parse_floats(cells: np.ndarray) -> np.ndarray:
    """Floats, NaN where a cell is not a plain number. A column of plain ASCII numbers (the usual
    case) converts in one numpy call; Python's float() also takes `1_000`, non-ASCII digits and
    `inf`, hence the checks, and anything else goes through pandas' stricter parser."""
    joined = "\x00".join(cells)
    if joined.isascii() and "_" not in joined:
        try:
            values = np.array(cells, dtype=np.float64)
        except ValueError:
            pass
        else:
            if np.isfinite(values).all():
                return values
    return np.asarray(pd.to_numeric(cells, errors="coerce"), dtype=np.float64)


_GROUPING_DOT = re.compile(r"\.(?=\d{3}(?:\D|$))")
_SIGNS_AND_SYMBOLS = re.compile(r"[\s$€£¥()+-]")
_GROUPED = {",": re.compile(r"\d{1,3}(?:,\d{3})+"), ".": re.compile(r"\d{1,3}(?:\.\d{3})+")}


def decimal_comma_text(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(a semicolon file's numbers as the parser reads them, ambiguous cells). Read value by value,
    never guessed: with both marks the later one is the decimal mark (`1.234,50` -> 1234.50, and a
    US `$1,250.00` stays as it is); a comma alone is the decimal mark (`20,98`, `2,5`) and a dot alone
    the decimal point (`20.98`), except where the value is shaped like grouped thousands (`2,500`,
    `1.000`: a thousand, or one?), which is refused."""
    bare = cells.str.replace(_SIGNS_AND_SYMBOLS, "", regex=True)
    comma, dot = cells.str.contains(",", regex=False), cells.str.contains(".", regex=False)
    european = comma & dot & (cells.str.rfind(",") > cells.str.rfind("."))
    comma_only, dot_only = comma & ~dot, dot & ~comma
    ambiguous = (comma_only & bare.str.fullmatch(_GROUPED[","])) | (dot_only & bare.str.fullmatch(_GROUPED["."]))
    european |= comma_only & ~ambiguous
    fixed = cells[european].str.replace(_GROUPING_DOT, "", regex=True).str.replace(",", ".", regex=False)
    return cells.where(~european, fixed), ambiguous


def _numbers(cells: pd.Series, label: str, errors: ErrorLog, integer: bool = False) -> tuple[pd.Series, pd.Series]:
    """(float values with NaN for empty/bad, bad mask). Plain numbers take pandas' C parser; only the
    rest (`$1,234.50`, `(12.00)` for a negative) go through the slower clean-up."""
    values = pd.Series(_parse_floats(cells.to_numpy(dtype=object)), index=cells.index, dtype="float64")
    empty = cells == ""
    plain = values.notna()
    retry = ~plain & ~empty
    if retry.any():
        cleaned = cells[retry].str.replace(_MONEY_NOISE, "", regex=True)
        negative = cleaned.str.fullmatch(r"\(.*\)")
        cleaned = cleaned.where(~negative, "-" + cleaned.str.slice(1, -1))
        values.loc[retry] = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    bad = ~empty & (values.isna() | ~np.isfinite(values.fillna(0)))
    if bad.any():
        errors.add(cells.index[bad], label, cells[bad], "not a whole number" if integer else "not a number")
    values = values.where(~bad)
    if integer:
        fractional = values.notna() & ((values % 1 != 0) | (values < INT_MIN) | (values > INT_MAX))
        if fractional.any():
            errors.add(cells.index[fractional], label, cells[fractional], "not a whole number")
            bad |= fractional
    else:
        huge = values.abs() >= MAX_ABS_DECIMAL
        if huge.any():
            errors.add(cells.index[huge], label, cells[huge], "number too large")
            bad |= huge
    values = values.where(~bad)
    values.attrs["plain"] = plain & ~bad
    return values, bad


def _decimal_text(cells: pd.Series, values: pd.Series) -> pd.Series:
    """The exact text of each valid number: the cell itself when pandas read it as written (its
    number syntax is PostgreSQL's), else the cleaned value (rounded to the 4 decimals kept)."""
    plain = values.attrs.get("plain", values.notna())
    text = cells.astype(object).where(plain, None)
    fix = values.notna() & ~plain
    if fix.any():
        text.loc[fix] = values[fix].round(4).map(repr)
    return text.where(values.notna(), None)


def _dates(cells: pd.Series, label: str, fmt: str | None, errors: ErrorLog) -> tuple[pd.Series, pd.Series]:
    """ISO days as text. Without a chosen format only ISO `YYYY-MM-DD` is read (the spec's letter:
    other formats need an explicit date format); each other cell is an error saying why, and which
    format it looks written in."""
    empty = cells == ""
    raw = cells.where(~empty)
    if fmt:
        parsed = _explicit_dates(raw, fmt)
        retry = parsed.isna() & ~empty
        if retry.any():  # XLSX date cells arrive as ISO text whatever the format of the text cells
            parsed.loc[retry] = iso_dates(raw[retry])
    else:
        parsed = iso_dates(raw)
    bad = parsed.isna() & ~empty
    if bad.any() and fmt:
        guess = detect_date_format(cells[bad].head(DATE_SAMPLE))
        errors.add(
            cells.index[bad],
            label,
            cells[bad],
            f"not a date (expected {fmt})",
            phrase=f"does not match {fmt}",
            hint=guess.hint() if guess.format != fmt else "",
        )
    elif bad.any():
        reasons = _why_not_iso(cells[bad])
        for reason, rows in reasons.groupby(reasons, sort=False).groups.items():
            words, _, hint = reason.partition("; ")
            phrase = f"does not match {ISO_FORMAT}" if reason == NOT_A_DATE else f"is {words}" if hint else ""
            errors.add(rows, label, cells[rows], reason, phrase=phrase, hint=hint)
    years = parsed.dt.year
    out_of_range = parsed.notna() & ((years < 1900) | (years > 2200))
    if out_of_range.any():
        errors.add(cells.index[out_of_range], label, cells[out_of_range], "date out of range")
        bad |= out_of_range
    text = pd.Series(np.datetime_as_string(parsed.values.astype("datetime64[D]")), index=cells.index, dtype=object)
    return text.where(parsed.notna() & ~bad, None), bad


def _bools(cells: pd.Series, label: str, column: Column, errors: ErrorLog) -> tuple[pd.Series, pd.Series]:
    lowered = cells.str.lower()
    values = pd.Series(pd.NA, index=cells.index, dtype="boolean")
    values[lowered.isin(TRUE_WORDS)] = True
    values[lowered.isin(FALSE_WORDS)] = False
    bad = values.isna() & (cells != "")
    if bad.any():
        errors.add(cells.index[bad], label, cells[bad], "not a yes/no value")
    return values, bad


def _choices(cells: pd.Series, label: str, column: Column, errors: ErrorLog) -> tuple[pd.Series, pd.Series]:
    normalized = cells.str.lower().str.replace(_CHOICE_NOISE, "_", regex=True).str.strip("_")
    normalized = normalized.replace({"e_mail": "email", "enduser": "end_user"})
    bad = ~normalized.isin(column.choices) & (normalized != "")
    if bad.any():
        errors.add(cells.index[bad], label, cells[bad], f"unknown value (expected one of: {', '.join(column.choices)})")
    return normalized.where(normalized != "", column.default or ""), bad


def _below_minimum(values: pd.Series, cells: pd.Series, label: str, column: Column, errors: ErrorLog) -> pd.Series:
    """Cells below the column's minimum (e.g. a negative stock on hand), recorded with their rows."""
    if column.minimum is None:
        return pd.Series(False, index=values.index)
    low = values.notna() & (values < column.minimum)
    if low.any():
        reason = "negative (must be 0 or more)" if column.minimum == 0 else f"less than {column.minimum}"
        errors.add(cells.index[low], label, cells[low], reason)
    return low


AMBIGUOUS_GROUPING = (
    "ambiguous in a semicolon-separated file (a decimal comma, or grouped thousands?): write 1000 or"
    " 1.000,00 for a thousand, 1,0 or 1.0 for one"
)


def _number_text(plan: Plan, column: pd.Series, label: str, errors: ErrorLog) -> tuple[pd.Series, pd.Series]:
    """(a numeric column's cells as the parser reads them, cells refused as ambiguous)."""
    cells = _text(column)
    if not plan.decimal_comma:
        return cells, pd.Series(False, index=cells.index)
    cells, ambiguous = decimal_comma_text(cells)
    if ambiguous.any():
        errors.add(cells.index[ambiguous], label, cells[ambiguous], AMBIGUOUS_GROUPING)
        cells = cells.where(~ambiguous, "")
    return cells, ambiguous


def validate_chunk(plan: Plan, chunk: pd.DataFrame, errors: ErrorLog) -> pd.DataFrame:
    """The chunk's valid rows in the staging layout (`stage_columns`, present columns only)."""
    out: dict[str, pd.Series] = {}
    bad = pd.Series(False, index=chunk.index)
    for name, source in plan.sources.items():
        column = plan.kind.column(name)
        label = source.text if isinstance(source, Expr) else source
        if isinstance(source, Expr):
            total = pd.Series(0.0, index=chunk.index)
            missing = pd.Series(False, index=chunk.index)
            for sign, header in source.terms:
                cells, refused = _number_text(plan, chunk[header], header, errors)
                values, term_bad = _numbers(cells, header, errors, integer=column.type == INT)
                bad |= term_bad | refused
                missing |= cells == ""
                total = total + sign * values.fillna(0)
            if column.required and missing.any():
                errors.add(chunk.index[missing & ~bad], label, "", "required value missing")
                bad |= missing
            values = total.where(~missing).round(4)
            out[name] = values.map(repr).where(values.notna(), None).astype(object)
            continue
        if column.type in (DECIMAL, INT):
            cells, refused = _number_text(plan, chunk[source], label, errors)
            bad |= refused
        else:
            cells = _text(chunk[source])
            refused = pd.Series(False, index=cells.index)
        empty = (cells == "") & ~refused  # a refused cell, emptied, is not also "required value missing"
        if column.needs_value and empty.any():
            errors.add(chunk.index[empty], label, "", "required value missing")
            bad |= empty
        if column.type == TEXT:
            if column.max_length:
                too_long = cells.str.len() > column.max_length
                if too_long.any():
                    errors.add(
                        chunk.index[too_long], label, cells[too_long], f"longer than {column.max_length} characters"
                    )
                    bad |= too_long
            out[name] = cells
        elif column.type == DECIMAL:
            values, col_bad = _numbers(cells, label, errors)
            col_bad |= _below_minimum(values, cells, label, column, errors)
            out[name] = _decimal_text(cells, values)
            bad |= col_bad
        elif column.type == INT:
            values, col_bad = _numbers(cells, label, errors, integer=True)
            col_bad |= _below_minimum(values, cells, label, column, errors)
            out[name] = values.astype("Int64")
            bad |= col_bad
        elif column.type == DATE:
            out[name], col_bad = _dates(cells, label, plan.date_format, errors)
            bad |= col_bad
        elif column.type == BOOL:
            out[name], col_bad = _bools(cells, label, column, errors)
            bad |= col_bad
        elif column.type == CHOICE:
            out[name], col_bad = _choices(cells, label, column, errors)
            bad |= col_bad
    frame = pd.DataFrame(out, index=chunk.index)
    frame["_row"] = chunk.index.astype("int64")
    frame = frame[~bad]
    return add_derived(plan.kind, frame)


def add_derived(kind: Kind, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns computed from others: an interaction's natural key (a digest of what identifies it)."""
    if kind.name != "interactions":
        return frame
    parts = [
        frame[c].astype(object).where(frame[c].notna(), "").astype(str)
        if c in frame
        else pd.Series("other" if c == "kind" else "", index=frame.index)
        for c in INTERACTION_KEY_COLUMNS
    ]
    joined = parts[0].str.cat(parts[1:], sep="\x1f") if len(frame) else pd.Series([], dtype=str)
    frame = frame.copy()
    frame["natural_key"] = [hashlib.sha256(s.encode()).hexdigest() for s in joined]
    return frame
