"""Bad input: each case fails the job with a clear message (and the listed errors), and writes nothing."""

import io
import zipfile
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from sales.models import Customer, InvoiceLine
from stratify.exports import escape_formula, escape_row
from stratify.jobs.models import Job
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

HEADER = "invoice_id,invoice_date,customer_id,product_id,quantity,revenue,cost\n"
GOOD = HEADER + "I-1,2024-01-01,C-1,P-1,1,10,5\nI-1,2024-01-01,C-1,P-2,1,10,5\n"


@pytest.fixture
def failing(tenant_a, run_import):
    """Run an import that must fail; returns the job after checking nothing was written."""

    def run(content, kind="invoice_lines", **kwargs):
        before = table_counts(tenant_a.distributor)
        job = run_import(tenant_a, kind, content, **kwargs)
        assert job.status == Job.Status.FAILED, job.message
        assert table_counts(tenant_a.distributor) == before
        assert job.result["error_count"] >= 1 and job.result["errors"]
        return job

    return run


def test_empty_file(failing):
    assert failing(b"").message == "The file is empty."
    assert failing(b"\n\n  \n").message == "The file is empty."


def test_header_only(failing):
    assert failing(HEADER).message == "The file has a header but no data rows."
    assert failing(HEADER + ",,,,,,\n\n").message == "The file has a header but no data rows."


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "a PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (bytes(range(256)) * 8, "binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "old-style Excel (.xls)"),
    ],
)
def test_binary_files(failing, content, says):
    message = failing(content, name="upload.csv").message
    assert message.startswith("The file is not a CSV or XLSX table") and says in message


def test_a_zip_that_is_not_a_workbook(failing):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "ZIP archive, not an Excel workbook" in failing(buffer.getvalue(), name="data.xlsx").message


def test_a_text_that_is_not_a_table(failing):
    job = failing("Dear team,\nplease find attached the figures for March.\nRegards\n")
    assert job.message.startswith("Missing required columns for invoice_lines: invoice_id, invoice_date")


def test_missing_required_columns_are_named(failing):
    job = failing("invoice_id,invoice_date,customer_id,product_id,quantity\nI-1,2024-01-01,C-1,P-1,1\n")
    assert job.message.startswith("Missing required columns for invoice_lines: revenue, cost.")
    assert [e["column"] for e in job.result["errors"]] == ["revenue", "cost"]


def test_unparseable_numbers_and_dates_are_all_listed(failing):
    job = failing(
        HEADER
        + "I-1,2024-01-01,C-1,P-1,one,10,5\n"
        + "I-2,2024-13-01,C-1,P-1,1,10,5\n"
        + "I-3,01/02/2024,C-1,P-1,1,1O.5,5\n"
        + "I-4,2024-01-01,,P-1,1,10,nan\n"
    )
    assert job.result["error_count"] == 6
    assert job.result["errors"] == [
        {"row": 2, "column": "quantity", "value": "one", "reason": "not a number"},
        {"row": 3, "column": "invoice_date", "value": "2024-13-01", "reason": "not a date (expected YYYY-MM-DD)"},
        {
            "row": 4,
            "column": "invoice_date",
            "value": "01/02/2024",
            "reason": "not an ISO date (YYYY-MM-DD); it could be %m/%d/%Y or %d/%m/%Y: choose the date format",
        },
        {"row": 4, "column": "revenue", "value": "1O.5", "reason": "not a number"},
        {"row": 5, "column": "customer_id", "value": "", "reason": "required value missing"},
        {"row": 5, "column": "cost", "value": "nan", "reason": "not a number"},
    ]
    # issue 11: identical errors are grouped (same column and reason), most frequent first
    assert job.message.startswith(
        "The file has 6 errors; nothing was imported. 1 row: 'one' is not a number (column quantity);"
        " 1 row: '2024-13-01' does not match %Y-%m-%d (column invoice_date);"
    )


def test_a_wrong_date_format_is_reported(failing):
    job = failing(GOOD.replace("2024-01-01", "2024/31/01"), date_format="%Y/%m/%d")
    assert job.result["errors"][0]["reason"] == "not a date (expected %Y/%m/%d)"


def test_duplicate_natural_key_in_the_file(failing, settings):
    settings.IMPORT_CHUNK_ROWS = 2  # the duplicate sits in another chunk than its first occurrence
    job = failing(
        "invoice_id,line_no,invoice_date,customer_id,product_id,quantity,revenue,cost\n"
        "I-1,1,2024-01-01,C-1,P-1,1,10,5\n"
        "I-1,2,2024-01-01,C-1,P-1,1,10,5\n"
        "I-2,1,2024-01-01,C-1,P-1,1,10,5\n"
        "I-1,1,2024-01-01,C-1,P-1,1,10,5\n"
    )
    assert job.result["errors"] == [
        {
            "row": 5,
            "column": "invoice_id, line_no",
            "value": "I-1 / 1",
            "reason": "duplicate invoice_id, line_no (same as row 2)",
        }
    ]
    job = failing("customer_id,name\nK1,One\nK2,Two\nK1,Again\n", kind="customers")
    assert job.result["errors"][0]["reason"] == "duplicate customer_id (same as row 2)"


def test_a_file_over_the_size_limit(failing, settings):
    settings.IMPORT_MAX_BYTES = 50
    assert "over the 0.0 MB import limit (IMPORT_MAX_BYTES)" in failing(GOOD).message


def test_a_ragged_row(failing):
    job = failing(GOOD + "I-9,2024-01-01,C-1,P-1,1,10,5,extra,cells\n")
    assert "line 4 has 9 fields where the header has 7" in job.message


def test_too_long_text(failing):
    job = failing(GOOD.replace("C-1,P-1", "C-1," + "P" * 101, 1))
    assert job.result["errors"][0]["reason"] == "longer than 100 characters"


def test_unknown_mapping_column(failing):
    job = failing(GOOD, mapping={"cost": "Ext Cost"})
    assert "names 'Ext Cost', which is not a column of the file" in job.message


def test_only_the_first_1000_errors_are_listed_and_all_are_counted(failing):
    rows = "".join(f"I-{i},2024-01-01,C-1,P-1,x,10,5\n" for i in range(1500))
    job = failing(HEADER + rows)
    assert job.result["error_count"] == 1500
    assert len(job.result["errors"]) == 1000
    assert job.result["errors"][-1]["row"] == 1001


# --- formula cells ----------------------------------------------------------------------------------


def test_formula_cells_are_stored_as_text_and_negative_numbers_are_numbers(tenant_a, run_import):
    text = (
        "invoice_id,invoice_date,customer_id,customer_name,product_id,quantity,revenue,cost,branch\n"
        '=1+2,2024-01-01,@SUM(A1),"=HYPERLINK(""http://x"",""y"")",+P1,-5.00,-12.50,+3,-North\n'
    )
    job = run_import(tenant_a, "invoice_lines", text)
    assert job.status == Job.Status.SUCCEEDED, job.message
    with scopes_disabled():
        line = InvoiceLine.objects.select_related("customer", "product").get(distributor=tenant_a.distributor)
        customer = Customer.objects.get(pk=line.customer_id)
    assert (line.invoice_id, line.customer.customer_id, line.product.product_id, line.branch) == (
        "=1+2",
        "@SUM(A1)",
        "+P1",
        "-North",
    )
    assert customer.name == '=HYPERLINK("http://x","y")'
    assert (str(line.quantity), str(line.revenue), str(line.cost)) == ("-5.0000", "-12.5000", "3.0000")
    assert escape_row([line.invoice_id, customer.name, line.branch, line.revenue, "-5.00", "+3", None]) == [
        "'=1+2",
        '\'=HYPERLINK("http://x","y")',
        "'-North",
        line.revenue,
        "-5.00",
        "+3",
        None,
    ]


def test_a_formula_in_a_numeric_column_is_an_error(failing):
    job = failing(GOOD.replace(",10,5\n", ",=10*2,5\n", 1))
    assert job.result["errors"][0] == {"row": 2, "column": "revenue", "value": "=10*2", "reason": "not a number"}


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("=SUM(A1)", "'=SUM(A1)"), ("@cmd", "'@cmd"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("\tx", "'\tx")],
)
def test_escape_formula(value, escaped):
    assert escape_formula(value) == escaped


@pytest.mark.parametrize("value", ["-5.00", "+3", "1e5", "plain", "", None, -5, 2.5])
def test_escape_formula_leaves_numbers_and_plain_text(value):
    assert escape_formula(value) == value


@pytest.mark.parametrize("number", ["1_000", "١٢", "inf", "NaN", "1e500", "0x10"])
def test_numbers_python_would_accept_but_the_format_does_not(failing, number):
    job = failing(GOOD.replace(",10,5\n", f",{number},5\n", 1))
    assert job.result["errors"] == [{"row": 2, "column": "revenue", "value": number, "reason": "not a number"}]


def test_a_semicolon_file_reads_its_decimal_commas_and_refuses_what_is_ambiguous(tenant_a, run_import):
    """A semicolon-separated file may write numbers with a decimal comma: `20,98` is 20.98, `2,5` 2.5,
    `1.234,50` 1234.50, while `$1,250.00` keeps its decimal point; `2,500` (read as 2500, silently:
    a German 2.5) and `1.000` (a thousand, or one?) are refused naming the cell, not guessed."""
    header = "invoice_id;invoice_date;customer_id;product_id;quantity;revenue;cost\n"
    good = header + "I1;2026-03-01;C1;P1;2,5;20,98;10\nI2;2026-03-01;C1;P1;-1;1.234,50;$1,000.25\n"
    job = run_import(tenant_a, "invoice_lines", good)
    assert job.status == Job.Status.SUCCEEDED, job.message
    with scopes_disabled():
        lines = {ln.invoice_id: ln for ln in InvoiceLine.objects.filter(distributor=tenant_a.distributor)}
    assert lines["I1"].quantity == Decimal("2.5") and lines["I1"].revenue == Decimal("20.98")
    assert lines["I2"].revenue == Decimal("1234.50") and lines["I2"].cost == Decimal("1000.25")

    before = table_counts(tenant_a.distributor)
    ambiguous = header + "I3;2026-03-02;C1;P1;1.000;5;2\nI4;2026-03-02;C1;P1;2,500;5;2\n"
    job = run_import(tenant_a, "invoice_lines", ambiguous)
    assert job.status == Job.Status.FAILED
    assert job.result["error_count"] == 2 and "ambiguous in a semicolon-separated file" in str(job.result)
    assert table_counts(tenant_a.distributor) == before


def test_a_comma_file_keeps_commas_as_thousands(tenant_a, run_import):
    job = run_import(
        tenant_a,
        "invoice_lines",
        'invoice_id,invoice_date,customer_id,product_id,quantity,revenue,cost\nI1,2026-03-01,C1,P1,1,"2,500",10\n',
    )
    assert job.status == Job.Status.SUCCEEDED, job.message
    with scopes_disabled():
        assert InvoiceLine.objects.get(distributor=tenant_a.distributor, invoice_id="I1").revenue == Decimal("2500")
