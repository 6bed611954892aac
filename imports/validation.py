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
    detected_date_format: bool = False

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
    if value in headers:
        return value
    wanted = normalize_header(value)
    for header in headers:
        if normalize_header(header) == wanted:
            return header
    return None


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
    if date_format is not None and date_format != "" and "%" not in date_format:
        raise ImportFailed(f"The date format {date_format!r} has no % directive (e.g. %m/%d/%Y).")
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
# Tried in this order; ISO first (and alone when it reads every value).
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
)
DATE_SAMPLE = 1000


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
    """The format of date cells, from a sample (empty cells ignored; at most DATE_SAMPLE read). Refuses
    to guess between formats that all read the sample (month/day against day/month)."""
    cells = pd.Series([str(v).strip() for v in list(values)[:DATE_SAMPLE] if v is not None], dtype=object)
    cells = cells[cells != ""]
    if cells.empty:
        return DateGuess(None, [])
    sample = str(cells.iloc[0])
    if pd.to_datetime(cells, format="ISO8601", errors="coerce").notna().all():
        return DateGuess(ISO_FORMAT, [ISO_FORMAT], sample)
    candidates = [fmt for fmt in DATE_FORMATS if pd.to_datetime(cells, format=fmt, errors="coerce").notna().all()]
    return DateGuess(candidates[0] if len(candidates) == 1 else None, candidates, sample)


def ambiguous_dates_message(column: str, guess: DateGuess) -> str:
    return (
        f"The dates of column {column!r} (e.g. {guess.sample!r}) could be {' or '.join(guess.candidates)}"
        " (month/day or day/month): Stratify does not guess; choose the date format."
    )


def settle_date_format(plan: Plan, chunk: pd.DataFrame) -> Plan:
    """For a plan without a date format: the format the first chunk's date cells are in, when they are
    not ISO and exactly one format reads them all. Ambiguous dates fail the import, saying why."""
    if plan.date_format:
        return plan
    for name, source in plan.sources.items():
        if plan.kind.column(name).type != DATE or isinstance(source, Expr) or source not in chunk:
            continue
        guess = detect_date_format(chunk[source].head(DATE_SAMPLE))
        if guess.ambiguous and ISO_FORMAT not in guess.candidates:
            raise ImportFailed(
                ambiguous_dates_message(source, guess),
                [{"row": None, "column": source, "value": guess.sample, "reason": "ambiguous date format"}],
            )
        if guess.format and guess.format != ISO_FORMAT:
            plan.date_format = guess.format
            plan.detected_date_format = True
            return plan
    return plan


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
    empty = cells == ""
    raw = cells.where(~empty, None)
    if fmt:
        parsed = pd.to_datetime(raw, format=fmt, errors="coerce")
        retry = parsed.isna() & ~empty
        if retry.any():  # XLSX date cells arrive as ISO text whatever the format of the text cells
            parsed.loc[retry] = pd.to_datetime(raw[retry], format="ISO8601", errors="coerce")
    else:
        parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    bad = parsed.isna() & ~empty
    if bad.any():
        guess = detect_date_format(cells[bad].head(DATE_SAMPLE))
        errors.add(
            cells.index[bad],
            label,
            cells[bad],
            f"not a date (expected {fmt or 'YYYY-MM-DD'})",
            phrase=f"does not match {fmt or ISO_FORMAT}",
            hint=guess.hint() if guess.format != (fmt or ISO_FORMAT) else "",
        )
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
                cells = _text(chunk[header])
                values, term_bad = _numbers(cells, header, errors, integer=column.type == INT)
                bad |= term_bad
                missing |= cells == ""
                total = total + sign * values.fillna(0)
            if column.required and missing.any():
                errors.add(chunk.index[missing & ~bad], label, "", "required value missing")
                bad |= missing
            values = total.where(~missing).round(4)
            out[name] = values.map(repr).where(values.notna(), None).astype(object)
            continue
        cells = _text(chunk[source])
        empty = cells == ""
        if column.required and empty.any():
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
