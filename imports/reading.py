"""Reading an uploaded file as chunks of text cells.

`inspect_file` decides once what the file is (CSV or XLSX, encoding, delimiter) and rejects what is
not a table with one clear message; `iter_chunks` then yields DataFrames of strings, a fixed number of
rows at a time, indexed by the row number a spreadsheet would show (the header is row 1), so memory
stays flat however large the file is. Typing and checking the cells is validation.py's job.

Sizes are bounded before anything large is held: a CSV's bytes are scanned once for a field longer
than IMPORT_MAX_CELL_CHARS, an XLSX's zip directory and its XML parts (streamed) for what they expand
to, the cells they hold and any text longer than a cell may be, all before openpyxl parses a byte; the
header is checked against IMPORT_MAX_COLUMNS before any row is read, and every cell read against
IMPORT_MAX_CELL_CHARS."""

import codecs
import csv
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from .errors import MAX_ERROR_VALUE_CHARS, ImportFailed

CHUNK_ROWS = 200_000
MAX_HEADER_CHARS = 300  # a column name (the mapping step's fields take 300 characters)
SCAN_BLOCK = 1024 * 1024
XLSX_MAX_PARTS = 10_000
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

    @property
    def decimal_comma(self) -> bool:
        """Whether its numbers are written with a decimal comma (see validation.Plan.decimal_comma)."""
        return self.format == "csv" and self.delimiter == ";"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def chunk_rows() -> int:
    return int(getattr(settings, "IMPORT_CHUNK_ROWS", CHUNK_ROWS))


def check_size(size: int) -> None:
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise ImportFailed(f"The file is {_mb(size)}, over the {_mb(limit)} import limit (IMPORT_MAX_BYTES).")


def cell_limit() -> int:
    return int(settings.IMPORT_MAX_CELL_CHARS)


def _too_long(where: str, limit: int) -> str:
    return (
        f"{where} holds a value longer than {limit:,} characters, the limit for one cell"
        " (IMPORT_MAX_CELL_CHARS); nothing was imported."
    )


def check_headers(headers: list[str]) -> None:
    """At most IMPORT_MAX_COLUMNS columns, each name at most MAX_HEADER_CHARS long."""
    limit = int(settings.IMPORT_MAX_COLUMNS)
    if len(headers) > limit:
        raise ImportFailed(f"The file has {len(headers):,} columns, over the limit of {limit:,} (IMPORT_MAX_COLUMNS).")
    for number, header in enumerate(headers, start=1):
        if len(header) > MAX_HEADER_CHARS:
            raise ImportFailed(
                f"The file's column {number}'s name is {len(header):,} characters long, over the limit of"
                f" {MAX_HEADER_CHARS}: is the first line the header?",
                [{"row": 1, "column": f"column {number}", "value": header, "reason": "column name too long"}],
            )


def check_cells(chunk: pd.DataFrame) -> None:
    """Every cell read holds at most IMPORT_MAX_CELL_CHARS characters (the first offender is named)."""
    limit = cell_limit()
    found = None
    for position, name in enumerate(chunk.columns):
        values = chunk.iloc[:, position].to_numpy(dtype=object)
        if not len(values) or len(max(values, key=len)) <= limit:
            continue
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        first = int(np.argmax(lengths > limit))
        row = int(chunk.index[first])
        if found is None or row < found[0]:
            found = (row, name, values[first])
    if found is not None:
        row, name, value = found
        raise ImportFailed(
            _too_long(f"Row {row}, column {name!r}", limit),
            [{"row": row, "column": name, "value": value, "reason": f"longer than {limit:,} characters"}],
        )


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
    if not encoding.startswith("utf-16") and _looks_binary(head):
        raise ImportFailed(BINARY)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise ImportFailed("The file is empty.")
    source = SourceFile(path, "csv", size, encoding, _detect_delimiter(text))
    if not encoding.startswith("utf-16"):
        _scan_csv(source, _header_names(text, source.delimiter))
    return source


BINARY = "The file is not a CSV or XLSX table: it holds binary data."


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    control = sum(1 for b in head[:8192] if b < 32 and b not in (9, 10, 12, 13))
    return control > max(8, len(head[:8192]) // 100)


def _header_names(text: str, delimiter: str) -> list[str]:
    """The header's names when its line is whole in `text` (the file's first 64 KB), else none."""
    if "\n" not in text:
        return []
    try:
        return _clean_headers(next(csv.reader([text.split("\n", 1)[0].rstrip("\r")], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return []


def _chars(run: np.ndarray, utf8: bool) -> int:
    """Characters in a run of bytes: all of them, or in UTF-8 those that are not continuation bytes."""
    return int(np.count_nonzero((run & 0xC0) != 0x80)) if utf8 else len(run)


def _scan_csv(source: SourceFile, headers: list[str]) -> None:
    """One pass over the bytes, a block at a time (memory flat): no NUL byte (no text export has one,
    and the database could not store it), and no field longer than IMPORT_MAX_CELL_CHARS, so a 50 MB
    field fails here before pandas holds it. Fields are split at the delimiter and line ends: a quoted
    field holding those is measured exactly once read (check_cells)."""
    limit = cell_limit()
    utf8 = source.encoding.startswith("utf-8")
    delimiter = ord(source.delimiter)
    lines = 0  # line ends before the current block
    field = 0  # delimiters seen on the current line at the end of the previous block
    open_chars, open_at, open_prefix = 0, (1, 0), b""  # the field still open at the end of a block

    def fail(line: int, position: int, prefix: bytes):
        name = headers[position] if position < len(headers) else f"field {position + 1}"
        where = f"Line {line}, column {name!r}" if line > 1 else f"Line 1 (the header), field {position + 1}"
        value = prefix.decode(source.encoding, errors="replace")
        reason = f"longer than {limit:,} characters"
        raise ImportFailed(_too_long(where, limit), [{"row": line, "column": name, "value": value, "reason": reason}])

    def located(arr: np.ndarray, seps: np.ndarray) -> tuple[int, int]:
        """(line, field) of the field that starts after the separators `seps` of this block."""
        ends = seps[arr[seps] == 10]
        line = lines + len(ends) + 1
        after = seps[seps > ends[-1]] if len(ends) else seps
        delimiters = int(np.count_nonzero(arr[after] == delimiter))
        return line, delimiters if len(ends) else field + delimiters

    keep = MAX_ERROR_VALUE_CHARS * 4
    with source.path.open("rb") as fh:
        while block := fh.read(SCAN_BLOCK):
            if b"\x00" in block:
                raise ImportFailed(BINARY)
            arr = np.frombuffer(block, dtype=np.uint8)
            seps = np.flatnonzero((arr == delimiter) | (arr == 10) | (arr == 13))
            first_end = int(seps[0]) if len(seps) else len(arr)
            chars = open_chars + _chars(arr[:first_end], utf8)
            if chars > limit:
                fail(*open_at, (open_prefix + block[:first_end])[:keep])
            if len(seps) > 1:
                for i in np.flatnonzero(np.diff(seps) - 1 > limit):  # runs of more bytes than the limit
                    start, end = int(seps[i]) + 1, int(seps[i + 1])
                    if _chars(arr[start:end], utf8) > limit:
                        fail(*located(arr, seps[: i + 1]), block[start : start + keep])
            if len(seps):
                start = int(seps[-1]) + 1
                open_at = located(arr, seps)
                open_chars, open_prefix = _chars(arr[start:], utf8), block[start : start + keep]
                if open_chars > limit:
                    fail(*open_at, open_prefix)
            else:
                open_chars, open_prefix = chars, (open_prefix + block)[:keep]
            ends = seps[arr[seps] == 10]
            after = seps[seps > ends[-1]] if len(ends) else seps
            delimiters = int(np.count_nonzero(arr[after] == delimiter))
            field = delimiters if len(ends) else field + delimiters
            lines += len(ends)


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8, else Windows-1252 (the usual
    ERP and Excel export on Windows), else Latin-1 (which reads any byte). A file that is not UTF-8
    but holds well-formed UTF-8 characters mixes two encodings (e.g. a line pasted in from elsewhere):
    read as Windows-1252 its UTF-8 text would be garbled (`Müller` as `MÃ¼ller`), so it is refused."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    first_bad_line = _first_non_utf8_line(path)
    if first_bad_line is None:
        return "utf-8"
    if _holds_utf8_characters(path):
        raise ImportFailed(
            f"The file mixes UTF-8 and another encoding (line {first_bad_line} is not UTF-8, while other text is):"
            " save it again as UTF-8.",
            [{"row": first_bad_line, "column": "", "value": "", "reason": "mixes UTF-8 and another encoding"}],
        )
    decoder = codecs.getincrementaldecoder("cp1252")()
    try:
        with path.open("rb") as fh:
            while block := fh.read(4 * 1024 * 1024):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _first_non_utf8_line(path: Path) -> int | None:
    """The line (1 = the first) holding the first byte that is not UTF-8, or None for a UTF-8 file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(4 * 1024 * 1024)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                # The decoder may hold up to 3 bytes of the previous block: the line count is taken
                # from the start of the bad sequence in this block (at worst the same line).
                start = max(error.start - len(error.object) + len(block), 0)
                return lines + block[:start].count(b"\n") + 1
            if not block:
                return None
            lines += block.count(b"\n")


# A well-formed UTF-8 character of two to four bytes (RFC 3629; not the C1 controls U+0080-U+009F, which
# no text holds and which a Windows-1252 `Â` followed by `€`...`Ÿ` would otherwise look like). A
# Windows-1252 file holds such a pair only where an accented capital precedes a symbol or curly quote
# (`É’`) or where it holds mojibake (`Ã©`) already: rare, and then refused with the same clear message.
_UTF8_CHARACTER = re.compile(
    rb"\xc2[\xa0-\xbf]|[\xc3-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _holds_utf8_characters(path: Path) -> bool:
    """Whether the file holds a well-formed multi-byte UTF-8 character (the regex scans at C speed; the
    last 3 bytes of each block are carried into the next, so a character split between blocks counts)."""
    carry = b""
    with path.open("rb") as fh:
        while block := fh.read(4 * 1024 * 1024):
            if _UTF8_CHARACTER.search(carry + block):
                return True
            carry = block[-3:]
    return False


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


def _first_record(source: SourceFile) -> list[str]:
    """The header as the csv module reads it (one record, however wide), for the limits' checks."""
    try:
        with source.path.open(encoding=source.encoding, errors="replace", newline="") as fh:
            for record in csv.reader(fh, delimiter=source.delimiter):
                if any(cell.strip() for cell in record):
                    return _clean_headers(record)
    except csv.Error:
        pass  # pandas reads the same header next and says what is wrong with it
    return []


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
        for chunk in _iter_xlsx(source, rows):
            check_cells(chunk)
            yield chunk
        return
    check_headers(_first_record(source))  # before pandas sizes anything for a 10,000-column header
    with source.path.open("rb") as fh:
        try:
            reader = pd.read_csv(fh, chunksize=rows, **_csv_options(source))
            read = 0
            for chunk in reader:
                chunk = _without_trailing_delimiter(chunk, read)
                chunk.columns = _clean_headers(chunk.columns)
                chunk.index = pd.RangeIndex(read + 2, read + 2 + len(chunk))  # the rows' numbers, header = 1
                read += len(chunk)
                chunk = _drop_blank_rows(chunk)
                check_cells(chunk)
                chunk.attrs["fraction"] = min(fh.tell() / source.size, 1.0)
                yield chunk
        except pd.errors.EmptyDataError:
            return
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise _parser_failure(error)


def _without_trailing_delimiter(chunk: pd.DataFrame, read: int) -> pd.DataFrame:
    """`chunk` as the header names its columns when the data rows end with delimiters the header does
    not have (ERP exports often write "a,b,c," under "a,b,c"): pandas then takes the first column(s)
    for an index and shifts the names right. The empty last fields are dropped; one that holds a value
    is refused (nothing is read into the wrong column, nothing silently lost). `read`: data rows before
    it."""
    if isinstance(chunk.index, pd.RangeIndex):
        return chunk
    headers, more = list(chunk.columns), chunk.index.nlevels  # ",," at the ends: two index levels
    chunk = chunk.reset_index()
    extras = [f"\x00extra{i}" for i in range(more)]
    chunk.columns = [*headers, *extras]
    extra = chunk[extras].fillna("").astype(str).apply(lambda column: column.str.strip()).agg("".join, axis=1)
    chunk = chunk.drop(columns=extras)
    filled = np.flatnonzero(extra != "")
    if len(filled):
        line, fields = read + int(filled[0]) + 2, len(headers) + more
        raise ImportFailed(
            f"The file is not a regular table: line {line} has {fields} fields where the header has "
            f"{len(headers)}. Check the delimiter and the quoting of that line.",
            [{"row": line, "column": "", "value": extra.iloc[filled[0]][:80],
              "reason": f"{fields} fields where the header has {len(headers)}"}],
        )  # fmt: skip
    return chunk


def _drop_blank_rows(chunk: pd.DataFrame) -> pd.DataFrame:
    if chunk.empty or not len(chunk.columns):
        return chunk
    blank = (chunk == "").all(axis=1)
    return chunk[~blank] if blank.any() else chunk


# --- XLSX -------------------------------------------------------------------------------------------


DAMAGED = "The file is not a CSV or XLSX table: it is a damaged ZIP/XLSX file."
_OVERRIDE = re.compile(rb"<Override\b[^>]*>")
_PART_NAME = re.compile(rb'PartName="/?([^"]+)"')


def _inspect_xlsx(path: Path, size: int) -> SourceFile:
    """A workbook openpyxl may open: checked from the zip's central directory (what every part
    declares it expands to; reading stops at the declared size, so a part cannot inflate beyond it),
    then by streaming its XML parts (no text longer than a cell may be, a bounded number of cells),
    before openpyxl reads anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > XLSX_MAX_PARTS:
                raise ImportFailed(f"The workbook has {len(infos):,} parts: it is not an Excel export.")
            names = {info.filename for info in infos}
            if "xl/workbook.xml" not in names:
                raise ImportFailed("The file is not a CSV or XLSX table: it is a ZIP archive, not an Excel workbook.")
            types = _content_types(archive, names)
            _check_xlsx_sizes(infos, types)
            _scan_xlsx(archive, infos, types)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise ImportFailed(DAMAGED)
    return SourceFile(path, "xlsx", size)


def _content_types(archive: zipfile.ZipFile, names: set[str]) -> dict[str, bytes]:
    """{part name: content type} of the overrides in [Content_Types].xml (a small part)."""
    if "[Content_Types].xml" not in names or archive.getinfo("[Content_Types].xml").file_size > 1024 * 1024:
        return {}
    found = {}
    for tag in _OVERRIDE.findall(archive.read("[Content_Types].xml")):
        name = _PART_NAME.search(tag)
        if name:
            found[name.group(1).decode("utf-8", "replace")] = tag
    return found


def _is_shared_strings(name: str, types: dict[str, bytes]) -> bool:
    return b"sharedStrings+xml" in types.get(name, b"") or name.lower().endswith("sharedstrings.xml")


def _is_worksheet(name: str, types: dict[str, bytes]) -> bool:
    return b"worksheet+xml" in types.get(name, b"") or name.lower().startswith("xl/worksheets/")


def _check_xlsx_sizes(infos: list[zipfile.ZipInfo], types: dict[str, bytes]) -> None:
    total = sum(info.file_size for info in infos)
    limit = int(settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES)
    if total > limit:
        raise ImportFailed(
            f"The workbook expands to {_mb(total)}, over the {_mb(limit)} limit for the uncompressed parts of"
            " an XLSX (IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES): save it as CSV or split it."
        )
    shared = [info for info in infos if _is_shared_strings(info.filename, types)]
    size = sum(info.file_size for info in shared)
    limit = int(settings.IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES)
    if size > limit:
        parts = ", ".join(info.filename for info in shared)
        raise ImportFailed(
            f"The workbook's shared strings expand to {_mb(size)}, over the {_mb(limit)} limit"
            f" ({parts}, IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES): save it as CSV or split it."
        )


_CELL_TAGS = (b"<c ", b"<c>", b"<c/>")
_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*):worksheet\b")


def _check_cell_count(cells: int, limit: int) -> None:
    if cells > limit:
        raise ImportFailed(
            f"The workbook holds more than {limit:,} cells, the limit for an XLSX (IMPORT_XLSX_MAX_CELLS):"
            " save it as CSV or split it."
        )


def _scan_xlsx(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], types: dict[str, bytes]) -> None:
    """Streams the XML parts under xl/: the longest text between two tags (a cell's text cannot hold
    `<`) stays within what IMPORT_MAX_CELL_CHARS characters can take as bytes (entities, UTF-8), and
    the worksheets hold at most IMPORT_XLSX_MAX_CELLS cells. The exact cell limit is checked on the
    cells read (check_cells)."""
    chars = cell_limit()
    run_limit = chars * 10 + 4096  # `&#1114111;` is 10 bytes for one character; tags and attributes
    cell_limit_total = int(settings.IMPORT_XLSX_MAX_CELLS)
    cells = 0
    for info in infos:
        name = info.filename
        if not name.lower().startswith("xl/") or not name.lower().endswith(".xml"):
            continue
        sheet = _is_worksheet(name, types)
        tags = _CELL_TAGS
        carry = b""
        with archive.open(info) as part:
            first = True
            while block := part.read(SCAN_BLOCK):
                if sheet and first:
                    prefix = _PREFIX.search(block[:4096])
                    if prefix:
                        tags = tuple(t.replace(b"<", b"<" + prefix.group(1) + b":") for t in _CELL_TAGS)
                    first = False
                data = carry + block
                marks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 60)  # "<"
                last = int(marks[-1]) if len(marks) else 0
                longest = max(int(marks[0]) if len(marks) else len(data), len(data) - last)
                if len(marks) > 1:
                    longest = max(longest, int(np.diff(marks).max()))
                if longest > run_limit:
                    raise ImportFailed(
                        f"The workbook holds a value longer than {chars:,} characters ({name}), the limit for"
                        " one cell (IMPORT_MAX_CELL_CHARS); nothing was imported."
                    )
                complete, carry = (data[:last], data[last:]) if len(marks) else (b"", data)
                if sheet:
                    cells += sum(complete.count(tag) for tag in tags)
                    _check_cell_count(cells, cell_limit_total)
        if sheet:
            cells += sum(carry.count(tag) for tag in tags)
    _check_cell_count(cells, cell_limit_total)


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
                check_headers(cells)
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
