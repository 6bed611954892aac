"""Bounded sizes: the files that once took the web worker to 1.5 GiB (an XLSX holding one 200 MB shared
string, a 50 MB CSV field, 10,000 columns) each fail with one clear message, write nothing and keep
memory flat; every value kept for the error report, the preview or the job message is bounded."""

import json
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from imports.errors import MAX_ERROR_VALUE_CHARS, MAX_MESSAGE_CHARS
from imports.services import errors_csv, import_preview
from stratify.jobs.models import Job
from tests.conftest import api_as
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
HEADER = "invoice_id,invoice_date,customer_id,product_id,quantity,revenue,cost\n"
GOOD = HEADER + "I-1,2024-01-01,C-1,P-1,1,10,5\n"


@pytest.fixture
def failing(tenant_a, run_import):
    """Run an import that must fail: nothing written, at least one error listed. Returns the job and the
    peak of memory traced while it ran (bytes)."""

    def run(content, kind="invoice_lines", **kwargs):
        before = table_counts(tenant_a.distributor)
        tracemalloc.start()
        try:
            job = run_import(tenant_a, kind, content, **kwargs)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert job.status == Job.Status.FAILED, job.message
        assert table_counts(tenant_a.distributor) == before
        assert job.result["error_count"] >= 1 and job.result["errors"]
        return job, peak

    return run


def no_openpyxl(monkeypatch):
    """The size checks must run before openpyxl parses anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl was asked to open a workbook that should have been refused")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


# --- a minimal workbook written by hand, so a test controls every part of it ------------------------

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml"'
    b' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml"'
    b' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/sharedStrings.xml"'
    b' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    b"</Types>"
)
ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="xl/workbook.xml"'
    b' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    b"</Relationships>"
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="worksheets/sheet1.xml"'
    b' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    b'<Relationship Id="rId2" Target="sharedStrings.xml"'
    b' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
    b"</Relationships>"
)
MAIN_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _column(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        name = chr(65 + rest) + name
    return name


def sheet_xml(rows: list[list]) -> bytes:
    """Cells: an int is a shared-string index, a str an inline string."""
    out = [b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet ', MAIN_NS, b"><sheetData>"]
    for r, row in enumerate(rows, start=1):
        out.append(f'<row r="{r}">'.encode())
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if isinstance(value, int):
                out.append(f'<c r="{ref}" t="s"><v>{value}</v></c>'.encode())
            else:
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'.encode())
        out.append(b"</row>")
    out.append(b"</sheetData></worksheet>")
    return b"".join(out)


def write_xlsx(path: Path, rows: list[list], strings: list[str], huge_string_bytes: int = 0) -> Path:
    """A workbook whose shared strings are `strings`, plus (with `huge_string_bytes`) one more string of
    that many `A`s, streamed into the archive 1 MB at a time (it compresses about 1000:1)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml(rows))
        count = len(strings) + (1 if huge_string_bytes else 0)
        with archive.open("xl/sharedStrings.xml", "w") as out:
            out.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {MAIN_NS.decode()} count="{count}">'.encode())
            for text in strings:
                out.write(f"<si><t>{text}</t></si>".encode())
            if huge_string_bytes:
                out.write(b"<si><t>")
                block = b"A" * MB
                for _ in range(huge_string_bytes // MB):
                    out.write(block)
                out.write(b"A" * (huge_string_bytes % MB))
                out.write(b"</t></si>")
            out.write(b"</sst>")
    return path


CUSTOMER_ROWS = [[0, 1], [2, 3], [4, 5]]
CUSTOMER_STRINGS = ["customer_id", "name", "K1", "First", "K2"]


def test_the_handmade_workbook_imports(tenant_a, run_import, tmp_path):
    """The builder makes a real workbook: without a bomb in it, it imports."""
    path = write_xlsx(tmp_path / "ok.xlsx", CUSTOMER_ROWS, [*CUSTOMER_STRINGS, "Second"])
    job = run_import(tenant_a, "customers", path)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["created"]["customers"] == 2


def test_shared_string_bomb_is_refused_from_the_zip_directory(failing, tmp_path, monkeypatch):
    """The file of the report: a ~200 KB XLSX holding one 200 MB shared string."""
    path = write_xlsx(tmp_path / "bomb.xlsx", CUSTOMER_ROWS, CUSTOMER_STRINGS, huge_string_bytes=200 * MB)
    assert path.stat().st_size < 400 * 1024
    no_openpyxl(monkeypatch)
    job, peak = failing(path, kind="customers")
    assert "xl/sharedStrings.xml" in job.message and "IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES" in job.message
    assert job.message.startswith("The workbook's shared strings expand to 200.0 MB, over the ")
    assert peak < 5 * MB


def test_shared_string_over_the_cell_limit_is_refused_while_streaming(failing, tmp_path, monkeypatch, settings):
    """Under every size limit of the archive, one shared string is still far longer than a cell may be:
    it is found by streaming the part, before openpyxl would load every shared string into memory."""
    settings.IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES = 512 * MB
    path = write_xlsx(tmp_path / "bomb.xlsx", CUSTOMER_ROWS, CUSTOMER_STRINGS, huge_string_bytes=200 * MB)
    no_openpyxl(monkeypatch)
    job, peak = failing(path, kind="customers")
    assert "longer than 10,000 characters" in job.message and "IMPORT_MAX_CELL_CHARS" in job.message
    assert "xl/sharedStrings.xml" in job.message
    assert peak < 8 * MB


def test_total_uncompressed_size_over_the_limit(failing, tmp_path, monkeypatch, settings):
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 4 * MB
    path = write_xlsx(tmp_path / "big.xlsx", CUSTOMER_ROWS, CUSTOMER_STRINGS, huge_string_bytes=5 * MB)
    no_openpyxl(monkeypatch)
    job, _ = failing(path, kind="customers")
    assert job.message.startswith("The workbook expands to 5.0 MB, over the 4.0 MB limit")
    assert "IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES" in job.message


def test_a_lying_zip_directory_is_a_damaged_file(failing, tmp_path, monkeypatch):
    """The directory claims the shared strings are small; the data inflates to 50 MB. Reading stops at the
    declared size and the checksum fails: a damaged file, found without inflating the rest."""
    path = write_xlsx(tmp_path / "liar.xlsx", CUSTOMER_ROWS, CUSTOMER_STRINGS, huge_string_bytes=50 * MB)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/sharedStrings.xml")
    real = info.file_size.to_bytes(4, "little")
    fake = (2000).to_bytes(4, "little")
    assert data.count(real) == 2  # the local header and the central directory entry
    path.write_bytes(bytes(data).replace(real, fake))
    no_openpyxl(monkeypatch)
    job, peak = failing(path, kind="customers")
    assert "damaged" in job.message
    assert peak < 5 * MB


def test_an_inline_string_over_the_cell_limit(failing, tmp_path, monkeypatch, settings):
    settings.IMPORT_MAX_CELL_CHARS = 100
    path = write_xlsx(tmp_path / "inline.xlsx", [[0, 1], [2, "x" * 8000]], CUSTOMER_STRINGS)
    no_openpyxl(monkeypatch)
    job, _ = failing(path, kind="customers")
    assert "longer than 100 characters" in job.message and "xl/worksheets/sheet1.xml" in job.message


def test_a_cell_between_the_streaming_bound_and_the_limit_is_found_after_reading(failing, tmp_path, settings):
    """The byte scan allows for entities and multi-byte characters; the exact limit is checked on the
    cells read."""
    settings.IMPORT_MAX_CELL_CHARS = 100
    path = write_xlsx(tmp_path / "inline.xlsx", [[0, 1], [2, "y" * 150]], CUSTOMER_STRINGS)
    job, _ = failing(path, kind="customers")
    assert job.result["errors"][0]["row"] == 2 and job.result["errors"][0]["column"] == "name"
    assert "longer than 100 characters" in job.message and "IMPORT_MAX_CELL_CHARS" in job.message


def test_cell_count_over_the_limit(failing, tmp_path, monkeypatch, settings):
    settings.IMPORT_XLSX_MAX_CELLS = 50
    rows = [[0, 1]] + [[f"K{i}", f"Name {i}"] for i in range(30)]
    path = write_xlsx(tmp_path / "cells.xlsx", rows, CUSTOMER_STRINGS)
    no_openpyxl(monkeypatch)
    job, _ = failing(path, kind="customers")
    assert job.message.startswith("The workbook holds more than 50 cells")
    assert "IMPORT_XLSX_MAX_CELLS" in job.message


# --- CSV -------------------------------------------------------------------------------------------


def test_a_50_mb_csv_field_fails_fast_and_memory_stays_flat(failing, tmp_path):
    path = tmp_path / "interactions.csv"
    with path.open("wb") as out:
        out.write(b"customer_id,date,kind,summary\nalpha-C1,2024-01-01,call,")
        block = b"z" * MB
        for _ in range(50):
            out.write(block)
        out.write(b"\nalpha-C1,2024-01-02,call,short\n")
    job, peak = failing(path, kind="interactions")
    assert job.message.startswith("Line 2, column 'summary' holds a value longer than 10,000 characters")
    assert "IMPORT_MAX_CELL_CHARS" in job.message
    error = job.result["errors"][0]
    assert (error["row"], error["column"]) == (2, "summary")
    assert len(error["value"]) <= MAX_ERROR_VALUE_CHARS
    assert peak < 16 * MB


def test_a_long_field_in_a_multibyte_encoding_counts_characters(failing, settings, tenant_a, run_import):
    settings.IMPORT_MAX_CELL_CHARS = 20
    # 20 characters of 2 bytes each: within the limit.
    ok = "customer_id,date,summary\nalpha-C1,2024-01-01," + "é" * 20 + "\n"
    assert run_import(tenant_a, "interactions", ok).status == Job.Status.SUCCEEDED
    job, _ = failing("customer_id,date,summary\nalpha-C1,2024-01-01," + "é" * 21 + "\n", kind="interactions")
    assert job.message.startswith("Line 2, column 'summary' holds a value longer than 20 characters")


def test_a_long_quoted_field_with_delimiters_is_found_after_reading(failing, settings):
    settings.IMPORT_MAX_CELL_CHARS = 50
    text = 'customer_id,date,summary\nalpha-C1,2024-01-01,"' + "word, " * 20 + '"\n'
    job, _ = failing(text, kind="interactions")
    assert job.result["errors"][0]["row"] == 2 and job.result["errors"][0]["column"] == "summary"
    assert "longer than 50 characters" in job.message


def test_ten_thousand_columns_csv(failing):
    header = HEADER.strip() + "," + ",".join(f"extra_{i}" for i in range(10_000 - 7))
    job, peak = failing(header + "\n" + "I-1,2024-01-01,C-1,P-1,1,10,5" + "," * (10_000 - 7) + "\n")
    assert job.message == "The file has 10,000 columns, over the limit of 500 (IMPORT_MAX_COLUMNS)."
    assert peak < 16 * MB


def test_ten_thousand_columns_xlsx(failing, tmp_path):
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([*HEADER.strip().split(","), *(f"extra_{i}" for i in range(10_000 - 7))])
    sheet.append(["I-1", "2024-01-01", "C-1", "P-1", 1, 10, 5])
    book.save(tmp_path / "wide.xlsx")
    job, _ = failing(tmp_path / "wide.xlsx")
    assert job.message == "The file has 10,000 columns, over the limit of 500 (IMPORT_MAX_COLUMNS)."


def test_a_column_name_over_the_header_limit(failing):
    job, _ = failing(HEADER.strip() + "," + "h" * 400 + "\n" + "I-1,2024-01-01,C-1,P-1,1,10,5,x\n")
    assert "column 8's name is 400 characters long" in job.message


# --- what is kept and shown ------------------------------------------------------------------------


def test_error_values_are_truncated_everywhere(tenant_a, failing):
    long_name = "N" * 9000  # under the cell limit, over customer_name's 255 characters
    job, _ = failing(
        "invoice_id,invoice_date,customer_id,customer_name,product_id,quantity,revenue,cost\n"
        f"I-1,2024-01-01,C-1,{long_name},P-1,1,10,5\n"
    )
    error = job.result["errors"][0]
    assert error["reason"] == "longer than 255 characters"
    assert len(error["value"]) == MAX_ERROR_VALUE_CHARS and error["value"].endswith("…")
    assert len(job.message) < 500 and long_name not in job.message
    assert len(errors_csv(job)) < 1000
    client = api_as(tenant_a.manager)
    for url in (
        reverse("api-import-detail", kwargs={"tenant": tenant_a.slug, "pk": job.pk}),
        reverse("api-job-detail", kwargs={"tenant": tenant_a.slug, "pk": job.pk}),
    ):
        assert len(client.get(url).content) < 3000


def test_a_very_long_message_is_bounded(failing):
    headers = ",".join(f"{i:03d}" + "c" * 290 for i in range(400))  # no required column among them
    job, _ = failing(headers + "\n" + "," * 399 + "x\n")
    assert job.message.startswith("Missing required columns for invoice_lines")
    assert len(job.message) <= MAX_MESSAGE_CHARS and job.message.endswith("…")


def test_preview_rows_and_cells_are_bounded(tenant_a, write_file):
    cell = "p" * 9000  # under the cell limit
    header = "customer_id,name," + ",".join(f"note_{i}" for i in range(40))
    rows = "".join(f"K{i},Name {i}," + ",".join([cell] * 40) + "\n" for i in range(100))
    path = write_file(header + "\n" + rows)
    preview = import_preview(distributor=tenant_a.distributor, kind="customers", path=path)
    assert len(preview["rows"]) == 10
    assert all(len(value) <= 80 for row in preview["rows"] for value in row)
    assert preview["rows"][0][2].endswith("…")
    # The page itself stays small (the file holds 36 MB).
    client = Client()
    client.force_login(tenant_a.manager)
    with path.open("rb") as fh:
        response = client.post(
            reverse("import-list", kwargs={"tenant": tenant_a.slug}), {"kind": "customers", "file": fh}
        )
    page = client.get(response["Location"])
    assert page.status_code == 200 and len(page.content) < 200_000
    assert json.dumps(preview)  # plain data


def test_job_message_is_bounded_for_any_job(tenant_a):
    from stratify.jobs.registry import JobFailed, job_handler
    from stratify.jobs.services import job_enqueue, job_execute

    @job_handler("test-long-failure")
    def _fail(job, progress):
        raise JobFailed("x" * 1_000_000)

    job = job_enqueue(distributor=tenant_a.distributor, kind="test-long-failure", dispatch=False)
    job = job_execute(job.pk)
    assert job.status == Job.Status.FAILED and len(job.message) <= 2000
