"""Reading an uploaded file as chunks of text cells.

`inspect_file` decides once what the file is (CSV or XLSX, encoding, delimiter) and rejects what is
not a table with one clear message; `iter_chunks` then yields DataFrames of strings, a fixed number of
rows at a time, indexed by the row number a spreadsheet would show (the header is row 1), so memory
stays flat however large the file is. Typing and checking the cells is validation.py's job."""

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
from django.conf import settings

from .errors import ImportFailed

CHUNK_ROWS = 200_000
DELIMITERS = (",", ";", "\t", "|")
_BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old-style Excel (.xls) or Office file: save it as .xlsx or CSV",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str  # "csv" or "xlsx"
    size: int
    encoding: str = "utf-8"
    delimiter: str = ","


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def chunk_rows() -> int:
    return int(getattr(settings, "IMPORT_CHUNK_ROWS", CHUNK_ROWS))


def check_size(size: int) -> None:
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise ImportFailed(f"The file is {_mb(size)}, over the {_mb(limit)} import limit (IMPORT_MAX_BYTES).")


def inspect_file(path: str | Path) -> SourceFile:
    path = Path(path)
    if not path.is_file():
        raise ImportFailed(f"The file {path.name!r} was not found.")
    size = path.stat().st_size
    check_size(size)
    if size == 0:
        raise ImportFailed("The file is empty.")
    with path.open("rb") as fh:
        head = fh.read(65536)
    if head.startswith(b"PK\x03\x04"):
        return _inspect_xlsx(path, size)
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise ImportFailed(f"The file is not a CSV or XLSX table: it looks like {what}.")
    encoding = _detect_encoding(path, head)
    if not encoding.startswith("utf-16") and (_looks_binary(head) or _has_nul(path)):
        raise ImportFailed("The file is not a CSV or XLSX table: it holds binary data.")
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise ImportFailed("The file is empty.")
    return SourceFile(path, "csv", size, encoding, _detect_delimiter(text))


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    control = sum(1 for b in head[:8192] if b < 32 and b not in (9, 10, 12, 13))
    return control > max(8, len(head[:8192]) // 100)


def _has_nul(path: Path) -> bool:
    """A NUL byte anywhere: no text export has one, and the database could not store it."""
    with path.open("rb") as fh:
        while block := fh.read(8 * 1024 * 1024):
            if b"\x00" in block:
                return True
    return False


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8, else Windows-1252 (the usual
    ERP and Excel export on Windows), else Latin-1 (which reads any byte)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while block := fh.read(4 * 1024 * 1024):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _detect_delimiter(text: str) -> str:
    """The candidate that splits the header line into the most fields (quotes respected)."""
    first_line = text.splitlines()[0] if text.splitlines() else ""
    best, best_count = ",", 0
    for delimiter in DELIMITERS:
        try:
            fields = next(csv.reader([first_line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        if len(fields) - 1 > best_count:
            best, best_count = delimiter, len(fields) - 1
    return best


_PARSER_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _parser_failure(error: Exception) -> ImportFailed:
    match = _PARSER_ERROR.search(str(error))
    if match:
        expected, line, saw = match.groups()
        return ImportFailed(
            f"The file is not a regular table: line {line} has {saw} fields where the header has {expected}."
            " Check the delimiter and the quoting of that line.",
            [{"row": int(line), "column": "", "value": "", "reason": f"{saw} fields where the header has {expected}"}],
        )
    return ImportFailed(f"The file could not be read as CSV: {error}")


def _csv_options(source: SourceFile) -> dict:
    return {
        "sep": source.delimiter,
        "encoding": source.encoding,
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": True,
        "on_bad_lines": "error",
        "engine": "c",
        "quotechar": '"',
    }


def _clean_headers(headers) -> list[str]:
    return [str(h).strip().lstrip("\ufeff") for h in headers]


def read_headers(source: SourceFile) -> list[str]:
    return preview(source, rows=0)[0]


def preview(source: SourceFile, rows: int = 10) -> tuple[list[str], list[list[str]]]:
    """The header and the first `rows` data rows, as text."""
    for chunk in iter_chunks(source, rows=max(rows, 1)):
        return list(chunk.columns), chunk.head(rows).values.tolist()
    return _headers_only(source), []


def _headers_only(source: SourceFile) -> list[str]:
    if source.format == "xlsx":
        for row in _xlsx_rows(source):
            return row[1]
        return []
    try:
        frame = pd.read_csv(source.path, nrows=0, **_csv_options(source))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise _parser_failure(error)
    return _clean_headers(frame.columns)


def iter_chunks(source: SourceFile, rows: int | None = None) -> Iterator[pd.DataFrame]:
    """DataFrames of str cells, `rows` rows each, indexed by file row number. Rows whose every cell
    is empty are dropped (spreadsheets pad files with them). `chunk.attrs["fraction"]` is how far
    through the file the chunk ends (0..1), for progress."""
    rows = rows or chunk_rows()
    if source.format == "xlsx":
        yield from _iter_xlsx(source, rows)
        return
    with source.path.open("rb") as fh:
        try:
            reader = pd.read_csv(fh, chunksize=rows, **_csv_options(source))
            for chunk in reader:
                chunk.columns = _clean_headers(chunk.columns)
                chunk.index = chunk.index + 2
                chunk = _drop_blank_rows(chunk)
                chunk.attrs["fraction"] = min(fh.tell() / source.size, 1.0)
                yield chunk
        except pd.errors.EmptyDataError:
            return
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise _parser_failure(error)


def _drop_blank_rows(chunk: pd.DataFrame) -> pd.DataFrame:
    if chunk.empty or not len(chunk.columns):
        return chunk
    blank = (chunk == "").all(axis=1)
    return chunk[~blank] if blank.any() else chunk


# --- XLSX -------------------------------------------------------------------------------------------


def _inspect_xlsx(path: Path, size: int) -> SourceFile:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise ImportFailed("The file is not a CSV or XLSX table: it is a damaged ZIP/XLSX file.")
    if "xl/workbook.xml" not in names:
        raise ImportFailed("The file is not a CSV or XLSX table: it is a ZIP archive, not an Excel workbook.")
    return SourceFile(path, "xlsx", size)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx_rows(source: SourceFile) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) of the first worksheet, header first; formulas are read as their
    text (`=SUM(...)`), never evaluated."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(source.path, read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise ImportFailed(f"The XLSX workbook could not be read: {error}")
    try:
        sheet = workbook.worksheets[0]
        width = None
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if width is None:
                if not any(cells):
                    continue  # blank rows above the header
                while cells and not cells[-1]:
                    cells.pop()
                width = len(cells)
                yield number, cells
                continue
            cells = (cells + [""] * width)[:width]
            yield number, cells
    finally:
        workbook.close()


def _iter_xlsx(source: SourceFile, rows: int) -> Iterator[pd.DataFrame]:
    import openpyxl

    total = None
    try:
        workbook = openpyxl.load_workbook(source.path, read_only=True)
        total = workbook.worksheets[0].max_row
        workbook.close()
    except Exception:  # noqa: S110 - the row count only drives the progress bar
        pass
    headers: list[str] | None = None
    numbers: list[int] = []
    batch: list[list[str]] = []

    def frame() -> pd.DataFrame:
        chunk = pd.DataFrame(batch, columns=headers, index=numbers, dtype=str)
        chunk = _drop_blank_rows(chunk)
        chunk.attrs["fraction"] = min(numbers[-1] / total, 1.0) if total else 0.0
        return chunk

    for number, cells in _xlsx_rows(source):
        if headers is None:
            headers = _clean_headers(cells)
            continue
        numbers.append(number)
        batch.append(cells)
        if len(batch) >= rows:
            yield frame()
            numbers, batch = [], []
    if batch:
        yield frame()
    elif headers is not None and not numbers:
        yield pd.DataFrame(columns=headers, dtype=str)
