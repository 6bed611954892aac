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
    """Nothing was written. `errors` lists the first invalid cells ({row, column, value, reason})."""

    def __init__(self, message: str, errors: list[dict] | None = None, error_count: int | None = None):
        message = clip(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        errors = errors if errors is not None else [{"row": None, "column": "", "value": "", "reason": message}]
        self.errors = [bounded_error(e.get("row"), e.get("column"), e.get("value"), e.get("reason")) for e in errors]
        self.error_count = error_count if error_count is not None else len(self.errors)


class ErrorLog:
    """Collects errors from whole-column checks: every error is counted, the first LIMIT are kept."""

    def __init__(self, limit: int = LIMIT):
        self.limit = limit
        self.count = 0
        self._frames: list[pd.DataFrame] = []
        self._kept = 0

    def add(self, rows: pd.Index | pd.Series, column: str, values, reason: str) -> None:
        """Record `reason` for each row in `rows` (file row numbers) whose cell in `column` held `values`."""
        n = len(rows)
        if not n:
            return
        self.count += n
        room = self.limit - self._kept
        if room <= 0:
            return
        rows = list(rows[:room])
        values = list(pd.Series(values).iloc[:room]) if not isinstance(values, str) else [values] * len(rows)
        column, reason = clip(column, MAX_ERROR_COLUMN_CHARS), clip(reason, MAX_ERROR_REASON_CHARS)
        values = [clip(v, MAX_ERROR_VALUE_CHARS) for v in values]
        self._frames.append(pd.DataFrame({"row": rows, "column": column, "value": values, "reason": reason}))
        self._kept += len(rows)

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
        listed = self.listed()
        first = listed[0] if listed else None
        where = ""
        if first:
            where = f" First: row {first['row']}, column {first['column']!r}"
            value = f", value {first['value']!r}" if first["value"] != "" else ""
            where += f"{value}: {first['reason']}."
        noun = "error" if self.count == 1 else "errors"
        return f"The file has {self.count} {noun}; nothing was imported.{where}"

    def failure(self) -> ImportFailed:
        return ImportFailed(self.summary(), self.listed(), self.count)
