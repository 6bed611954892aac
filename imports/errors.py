"""Import failures: one clear message for a file that cannot be read at all, or the list of every
invalid cell (the first `LIMIT` kept, all counted) for a file that can.

Everything kept is bounded, whatever the file held: the message (`MAX_MESSAGE_CHARS`), and in each
listed error the value (`MAX_ERROR_VALUE_CHARS`), the column name and the reason, so a job's stored
result, the import page and errors.csv stay small."""

import pandas as pd

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


class ErrorLog:
    """Collects errors from whole-column checks: every error is counted, the first LIMIT are kept."""

    def __init__(self, limit: int = LIMIT):
        self.limit = limit
        self.count = 0
        self._frames: list[pd.DataFrame] = []
        self._kept = 0
        self._groups: dict[tuple[str, str], dict] = {}

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
        """Record `reason` for each row in `rows` (file row numbers) whose cell in `column` held `values`.
        Errors of the same column and `group` (default: the reason) are counted together; `phrase`
        and `hint` word the group (`does not match %Y-%m-%d`, `try %m/%d/%Y`)."""
        n = len(rows)
        if not n:
            return
        self.count += n
        self._count_group(rows, column, values, group or reason, phrase, hint)
        room = self.limit - self._kept
        if room <= 0:
            return
        rows = list(rows[:room])
        values = list(pd.Series(values).iloc[:room]) if not isinstance(values, str) else [values] * len(rows)
        column, reason = clip(column, MAX_ERROR_COLUMN_CHARS), clip(reason, MAX_ERROR_REASON_CHARS)
        values = [clip(v, MAX_ERROR_VALUE_CHARS) for v in values]
        self._frames.append(pd.DataFrame({"row": rows, "column": column, "value": values, "reason": reason}))
        self._kept += len(rows)

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

    def count_more(self, column: str, group: str, n: int) -> None:
        """Count `n` more errors of an existing group that are not listed."""
        if n <= 0:
            return
        self.count += n
        found = self._groups.get((clip(column, MAX_ERROR_COLUMN_CHARS), group))
        if found is not None:
            found["count"] += n

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

    def failure(self) -> ImportFailed:
        return ImportFailed(self.summary(), self.listed(), self.count, self.groups())
