"""Import failures: one clear message for a file that cannot be read at all, or the list of every
invalid cell for a file that can.

The job's stored result and the import page keep the first `LIMIT` errors (all counted, and grouped);
errors.csv lists every one: an import whose errors outnumber `LIMIT` writes them all to an error file
(`ErrorFile`, gzip-compressed CSV under MEDIA_ROOT/import-errors/, kept IMPORT_KEEP_ERROR_FILES_DAYS,
then purged: errors.csv then lists the job's first `LIMIT` and counts the rest) instead of the
job's row, which every job list reads. Everything kept is bounded, whatever the file held: the message
(`MAX_MESSAGE_CHARS`), in each error the value (`MAX_ERROR_VALUE_CHARS`), the column name and the
reason, and the error file by the import's own size limit (see ErrorFile)."""

import gzip
import os
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from stratify.exports import FORMULA_PREFIXES, escape_formula
from stratify.jobs.registry import JobFailed

LIMIT = 1000
ERROR_FIELDS = ("row", "column", "value", "reason")
MAX_MESSAGE_CHARS = 1000
MAX_ERROR_VALUE_CHARS = 200
MAX_ERROR_COLUMN_CHARS = 100
MAX_ERROR_REASON_CHARS = 300


def clip(text, limit: int) -> str:
    """`text` as str, cut to `limit` characters (the last one an ellipsis) when longer."""
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded_error(row, column, value, reason) -> dict:
    return {
        "row": row,
        "column": clip(column, MAX_ERROR_COLUMN_CHARS),
        "value": clip(value, MAX_ERROR_VALUE_CHARS),
        "reason": clip(reason, MAX_ERROR_REASON_CHARS),
    }


class ImportFailed(JobFailed):
    """Nothing was written. `errors` lists the first invalid cells ({row, column, value, reason});
    `groups` the identical errors counted together (see ErrorLog.groups)."""

    def __init__(
        self,
        message: str,
        errors: list[dict] | None = None,
        error_count: int | None = None,
        groups: list[dict] | None = None,
    ):
        message = clip(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        errors = errors if errors is not None else [{"row": None, "column": "", "value": "", "reason": message}]
        self.errors = [bounded_error(e.get("row"), e.get("column"), e.get("value"), e.get("reason")) for e in errors]
        self.error_count = error_count if error_count is not None else len(self.errors)
        self.groups = groups if groups is not None else _groups_of(self.errors)
        self.error_file: Path | None = None  # every error, when they outnumber the listed ones
        self.errors_left_out = 0  # errors past the error file's bound (counted, not written)


MAX_GROUPS = 50


def group_text(count: int, column: str, value: str, reason: str, phrase: str = "", hint: str = "") -> str:
    """`9,994 rows: '1/3/2014' does not match %Y-%m-%d — try %m/%d/%Y (column Order Date)`."""
    rows = f"{count:,} row{'s' if count != 1 else ''}"
    if phrase:
        what = f"{value!r} {phrase}" if value != "" else phrase
    elif value == "":
        what = reason
    elif reason.startswith(("not ", "longer ")):
        what = f"{value!r} is {reason}"
    else:
        what = f"{value!r}: {reason}"
    text = f"{rows}: {what}"
    if hint:
        text += f" — {hint}"
    return text + (f" (column {column})" if column else "")


def _group(count, column, value, reason, first_row, phrase="", hint="") -> dict:
    return {
        "column": column,
        "reason": reason,
        "count": count,
        "first_row": first_row,
        "value": value,
        "hint": hint,
        "text": clip(group_text(count, column, value, reason, phrase, hint), MAX_ERROR_REASON_CHARS + 300),
    }


def _groups_of(errors: list[dict]) -> list[dict]:
    """Groups for errors given as a list (a file that could not be read: usually one)."""
    groups: dict[tuple, dict] = {}
    for e in errors:
        key = (e["column"], e["reason"])
        if key in groups:
            groups[key]["count"] += 1
        elif len(groups) < MAX_GROUPS:
            groups[key] = {"count": 1, **{k: e[k] for k in ("column", "value", "reason", "row")}}
    return [_group(g["count"], g["column"], g["value"], g["reason"], g["row"]) for g in groups.values()]


def _clipped(values: pd.Series, limit: int) -> pd.Series:
    """`clip` over a whole column of text."""
    values = values.astype(object).where(values.notna(), "").astype(str)
    long = values.str.len() > limit
    return values.where(~long, values.str.slice(0, limit - 1) + "…") if long.any() else values


def _escaped(values: pd.Series) -> pd.Series:
    """`escape_formula` over a column of text; only the few cells a spreadsheet could evaluate are visited."""
    risky = values.str.startswith(FORMULA_PREFIXES)
    if risky.any():
        values = values.copy()
        values[risky] = values[risky].map(escape_formula)
    return values


class ErrorFile:
    """Every error of an import, as the rows of errors.csv (`row,column,value,reason`, escaped against
    formulas), gzip-compressed, in the order the checks found them: by row within each chunk of the
    file, then the duplicates and the unknown references, each by row.

    Bounded by the file's own size limit: every error names one cell (or row) of the file, its value
    at most that cell, and the rest of its line (row number, column, reason) repeats and compresses to
    a few bytes, so the errors of a file compress to less than the file. Past IMPORT_MAX_BYTES of
    compressed errors (which that argument says no file reaches) the rest are counted, not written, and
    errors.csv says how many. Written under a temporary name; `keep` gives it its final one."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.max_bytes = int(settings.IMPORT_MAX_BYTES)
        self.left_out = 0
        self._temporary = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex[:8]}.part")
        self._raw = None
        self._gzip = None

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if self._gzip is None:
            self._temporary.parent.mkdir(parents=True, exist_ok=True)
            self._raw = self._temporary.open("wb")
            self._gzip = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
        if self.left_out or self._raw.tell() > self.max_bytes:
            self.left_out += len(frame)
            return
        frame.to_csv(self._gzip, header=False, index=False, lineterminator="\r\n", encoding="utf-8")

    def _close(self) -> None:
        if self._gzip is not None:
            self._gzip.close()
            self._raw.close()
            self._gzip = self._raw = None

    def keep(self) -> bool:
        """Close the file under its final name; False when nothing was written."""
        self._close()
        if not self._temporary.exists():
            return False
        os.replace(self._temporary, self.path)
        return True

    def discard(self) -> None:
        self._close()
        self._temporary.unlink(missing_ok=True)


class ErrorLog:
    """Collects errors from whole-column checks: every error is counted, the first LIMIT are kept, and
    with an ErrorFile every one is written to it (see `flush`)."""

    def __init__(self, limit: int = LIMIT, file: ErrorFile | None = None):
        self.limit = limit
        self.count = 0
        self.file = file
        self._frames: list[pd.DataFrame] = []
        self._kept = 0
        self._groups: dict[tuple[str, str], dict] = {}
        self._pending: list[pd.DataFrame] = []  # for the file: this chunk's errors, sorted by row on flush

    def add(
        self,
        rows: pd.Index | pd.Series,
        column: str,
        values,
        reason: str,
        *,
        group: str | None = None,
        phrase: str = "",
        hint: str = "",
    ) -> None:
        """Record `reason` for each row in `rows` (file row numbers) whose cell in `column` held `values`;
        `reason` is one text, or one per row (then `group` names them together). Errors of the same
        column and `group` (default: the reason) are counted together; `phrase` and `hint` word the
        group (`does not match %Y-%m-%d`, `try %m/%d/%Y`)."""
        n = len(rows)
        if not n:
            return
        self.count += n
        self._count_group(rows, column, values, group or reason, phrase, hint)
        column = clip(column, MAX_ERROR_COLUMN_CHARS)
        cells = pd.Series([values] * n if isinstance(values, str) else list(values), dtype=object)
        cells = _clipped(cells, MAX_ERROR_VALUE_CHARS)
        reasons = (
            clip(reason, MAX_ERROR_REASON_CHARS)
            if isinstance(reason, str)
            else _clipped(pd.Series(list(reason), dtype=object), MAX_ERROR_REASON_CHARS).to_numpy(dtype=object)
        )
        rows = np.asarray(rows, dtype=object)
        if self.file is not None:
            self._pending.append(
                pd.DataFrame(
                    {
                        "row": rows,
                        "column": escape_formula(column),
                        "value": _escaped(cells).to_numpy(dtype=object),
                        "reason": reasons,
                    }
                )
            )
        room = self.limit - self._kept
        if room <= 0:
            return
        kept = pd.DataFrame({"row": rows, "column": column, "value": cells.to_numpy(dtype=object), "reason": reasons})
        self._frames.append(kept.head(room))
        self._kept += min(room, n)

    def _count_group(self, rows, column, values, reason, phrase, hint) -> None:
        column = clip(column, MAX_ERROR_COLUMN_CHARS)
        key = (column, reason)
        found = self._groups.get(key)
        if found is None:
            if len(self._groups) >= MAX_GROUPS:
                return
            first = values if isinstance(values, str) else pd.Series(values).iloc[0]
            found = self._groups[key] = {
                "count": 0,
                "column": column,
                "reason": clip(reason, MAX_ERROR_REASON_CHARS),
                "first_row": None if rows[0] is None else int(rows[0]),
                "value": clip(first, MAX_ERROR_VALUE_CHARS),
                "phrase": phrase,
                "hint": clip(hint, MAX_ERROR_REASON_CHARS),
            }
        found["count"] += len(rows)

    def groups(self) -> list[dict]:
        """Identical errors (same column and reason) counted together, most frequent first:
        [{column, reason, count, first_row, value (the first), hint, text}]."""
        ordered = sorted(self._groups.values(), key=lambda g: (-g["count"], g["first_row"] or 0))
        return [
            _group(g["count"], g["column"], g["value"], g["reason"], g["first_row"], g["phrase"], g["hint"])
            for g in ordered
        ]

    def add_one(self, row: int | None, column: str, value, reason: str) -> None:
        self.add(pd.Index([row]), column, [value], reason)

    def __bool__(self) -> bool:
        return self.count > 0

    def listed(self) -> list[dict]:
        """The kept errors ordered by row (then by the order the checks ran)."""
        if not self._frames:
            return []
        frame = pd.concat(self._frames, ignore_index=True)
        frame = frame.sort_values("row", kind="stable", na_position="first").head(self.limit)
        frame["row"] = frame["row"].astype(object).where(frame["row"].notna(), None)
        return [
            {"row": None if r is None else int(r), "column": c, "value": v, "reason": why}
            for r, c, v, why in frame.itertuples(index=False, name=None)
        ]

    def summary(self) -> str:
        """`The file has 9,994 errors; nothing was imported. 9,994 rows: '1/3/2014' does not match …`"""
        groups = self.groups()
        noun = "error" if self.count == 1 else "errors"
        text = f"The file has {self.count:,} {noun}; nothing was imported."
        shown = groups[:3]
        if shown:
            text += " " + "; ".join(g["text"] for g in shown)
            more = len(groups) - len(shown)
            text += f"; and {more} more kind{'s' if more != 1 else ''} of error." if more > 0 else "."
        return text

    def flush(self) -> None:
        """Write the errors recorded since the last flush to the error file, by row."""
        if not self._pending:
            return
        frame = pd.concat(self._pending, ignore_index=True)
        self._pending = []
        order = np.argsort(frame["row"].fillna(0).to_numpy(dtype=np.int64), kind="stable")
        self.file.write(frame.iloc[order])

    def failure(self) -> ImportFailed:
        """The import's failure; the error file, when one is kept, is named in `error_file`."""
        failure = ImportFailed(self.summary(), self.listed(), self.count, self.groups())
        if self.file is not None:
            self.flush()
            if self.count > self._kept and self.file.keep():
                failure.error_file = self.file.path
                failure.errors_left_out = self.file.left_out
            else:  # every error is in the result already
                self.file.discard()
        return failure


def error_files_root() -> Path:
    """The folder of the imports' error files (one subfolder per tenant)."""
    return Path(settings.MEDIA_ROOT) / "import-errors"


def error_files_purge(*, now: float | None = None) -> int:
    """Delete the error files older than IMPORT_KEEP_ERROR_FILES_DAYS (so the folder is bounded by the
    failed imports of that many days; an older job's errors.csv lists its first LIMIT errors and
    counts the rest). `now`: a Unix time (tests). Returns how many were deleted."""
    root = error_files_root()
    if not root.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - float(settings.IMPORT_KEEP_ERROR_FILES_DAYS) * 86400
    deleted = 0
    for path in root.glob("*/*.csv.gz"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # another purge took it
            continue
    return deleted
