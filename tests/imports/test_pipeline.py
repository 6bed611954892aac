"""The import pipeline end to end (services and command), on whichever database the run uses:
formats, aliases, encodings, idempotent upsert, created entities, monthly summaries, all-or-nothing."""

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django_scopes import scopes_disabled

from imports.services import errors_csv, load_frame
from sales import summaries
from sales.models import Customer, CustomerMonth, InvoiceLine, Product, Rep
from stratify.jobs.models import Job
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

SUPERSTORE = Path("/work/shared/data/superstore.csv")
SUPERSTORE_MAPPING = {
    "invoice_id": "Order ID",
    "invoice_date": "Order Date",
    "customer_id": "Customer ID",
    "customer_name": "Customer Name",
    "product_id": "Product ID",
    "category": "Sub-Category",
    "brand": "Category",
    "quantity": "Quantity",
    "revenue": "Sales",
    "cost": "Sales - Profit",
    "ship_method": "Ship Mode",
    "branch": "Region",
    "customer_class": "Segment",
}

LINES = (
    "invoice_id,invoice_date,customer_id,customer_name,product_id,category,brand,quantity,revenue,cost,rep_id\n"
    "INV-1,2024-01-05,C-100,Acme Builders,SKU-1,Fasteners,Bolt Co,10,100.50,60.25,R-9\n"
    "INV-1,2024-01-05,C-100,Acme Builders,SKU-2,Valves,ValvCo,1,20,12,R-9\n"
    "INV-2,2024-02-10,C-200,Beta Plumbing,SKU-1,Fasteners,Bolt Co,-2,-20.10,-12.05,\n"
)


def lines_of(t):
    with scopes_disabled():
        return list(
            InvoiceLine.objects.filter(distributor=t.distributor)
            .order_by("invoice_id", "line_no")
            .values_list("invoice_id", "line_no", "customer__customer_id", "product__product_id", "revenue", "cost")
        )


# --- the real sample ---------------------------------------------------------------------------------


@pytest.mark.skipif(not SUPERSTORE.exists(), reason="sample data not present")
def test_superstore_imports_through_the_command_with_a_computed_cost(tenant_a):
    import json

    out = io.StringIO()
    args = [tenant_a.slug, "invoice_lines", str(SUPERSTORE), "--mapping", json.dumps(SUPERSTORE_MAPPING)]
    call_command("import_data", *args, "--date-format", "%m/%d/%Y", stdout=out)
    assert "9,994 created" in out.getvalue()
    counts = table_counts(tenant_a.distributor)
    assert counts["invoice_lines"] == 9994
    assert counts["customers"] == 793 + 2  # plus the fixture's two customers
    assert counts["products"] == 1862 + 1
    with scopes_disabled():
        lines = InvoiceLine.objects.filter(distributor=tenant_a.distributor)
        totals = lines.aggregate(revenue=Sum("revenue"), cost=Sum("cost"))
        assert totals["revenue"] == pytest.approx(Decimal("2297200.8603"), abs=Decimal("0.01"))
        assert totals["cost"] == pytest.approx(Decimal("2010802.6386"), abs=Decimal("0.01"))
        first = lines.get(invoice_id="CA-2016-152156", line_no=1)
        assert (first.invoice_date.isoformat(), first.revenue, first.cost) == (
            "2016-11-08",
            Decimal("261.9600"),
            Decimal("220.0464"),
        )
        assert first.ship_method == "Second Class" and first.branch == "South"
        claire = Customer.objects.get(distributor=tenant_a.distributor, customer_id="CG-12520")
        assert (claire.name, claire.customer_class) == ("Claire Gute", "Consumer")
        product = Product.objects.get(distributor=tenant_a.distributor, product_id="FUR-BO-10001798")
        assert (product.category, product.brand) == ("Bookcases", "Furniture")
        months = CustomerMonth.objects.filter(distributor=tenant_a.distributor)
        assert months.aggregate(s=Sum("lines"))["s"] == 9994
        assert months.aggregate(s=Sum("orders"))["s"] == 5009
        assert months.aggregate(s=Sum("revenue"))["s"] == pytest.approx(totals["revenue"], abs=Decimal("0.01"))

    out = io.StringIO()
    call_command("import_data", *args, "--date-format", "%m/%d/%Y", stdout=out)
    assert "0 created, 0 updated, 9,994 unchanged" in out.getvalue()
    assert table_counts(tenant_a.distributor) == counts


def test_command_prints_errors_and_exits_non_zero(tenant_a, write_file):
    path = write_file(LINES.replace("100.50", "abc"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_data", tenant_a.slug, "invoice_lines", str(path), stderr=err)
    assert "row 2, revenue: 'abc' not a number" in err.getvalue()
    with pytest.raises(CommandError, match="Unknown kind"):
        call_command("import_data", tenant_a.slug, "orders", str(path))
    with pytest.raises(CommandError, match="No distributor"):
        call_command("import_data", "nobody", "invoice_lines", str(path))


# --- formats, encodings, aliases ---------------------------------------------------------------------


def _xlsx(text: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for line in text.strip().splitlines():
        sheet.append([_xlsx_cell(v) for v in line.split(",")])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: str):
    from datetime import datetime

    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        pass
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter"),
    [
        ("utf8.csv", "utf-8", ","),
        ("bom.csv", "utf-8-sig", ";"),
        ("win.csv", "cp1252", "\t"),
        ("lines.xlsx", None, ","),
    ],
)
def test_csv_encodings_delimiters_and_xlsx_give_the_same_rows(tenant_a, run_import, name, encoding, delimiter):
    text = LINES.replace("Acme Builders", "Café Müller").replace("\n", "\r\n")
    if encoding is None:
        job = run_import(tenant_a, "invoice_lines", _xlsx(text), name=name)
    else:
        job = run_import(tenant_a, "invoice_lines", text.replace(",", delimiter), name=name, encoding=encoding)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["created"]["invoice_lines"] == 3
    assert lines_of(tenant_a) == [
        ("INV-1", 1, "C-100", "SKU-1", Decimal("100.5"), Decimal("60.25")),
        ("INV-1", 2, "C-100", "SKU-2", Decimal("20"), Decimal("12")),
        ("INV-2", 1, "C-200", "SKU-1", Decimal("-20.1"), Decimal("-12.05")),
    ]
    with scopes_disabled():
        assert Customer.objects.get(distributor=tenant_a.distributor, customer_id="C-100").name == "Café Müller"


def test_aliases_are_recognised_ignoring_case_spaces_and_punctuation(tenant_a, run_import):
    text = (
        "Invoice No;Line #;Inv Date;CUST_NO;Item Number;Qty Shipped;Sales;Ext Cost;Ship Via;Sales Rep\n"
        "A1;1;2024-03-01;C-1;P-1;2;$1,250.00;(10.00);Will Call;jo@example.com\n"
    )
    job = run_import(tenant_a, "invoice_lines", text)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["mapping"]["customer_id"] == "CUST_NO"
    assert job.result["mapping"]["revenue"] == "Sales"
    with scopes_disabled():
        line = InvoiceLine.objects.select_related("rep").get(distributor=tenant_a.distributor, invoice_id="A1")
        assert (line.revenue, line.cost, line.ship_method) == (Decimal("1250"), Decimal("-10"), "Will Call")
        assert line.rep.email == "jo@example.com"


def test_explicit_mapping_and_date_format(tenant_a, run_import):
    text = "Doc,When,Who,What,N,Net,COGS,Memo\nD-1,31/12/2023,C-1,P-1,1,10,5,x\n"
    mapping = {
        "invoice_id": "Doc",
        "invoice_date": "When",
        "customer_id": "Who",
        "product_id": "What",
        "quantity": "N",
        "revenue": "Net",
        "cost": "COGS",
    }
    job = run_import(tenant_a, "invoice_lines", text, mapping=mapping, date_format="%d/%m/%Y")
    assert job.status == Job.Status.SUCCEEDED, job.message
    with scopes_disabled():
        assert InvoiceLine.objects.get(distributor=tenant_a.distributor, invoice_id="D-1").invoice_date.isoformat() == (
            "2023-12-31"
        )


# --- upsert, created entities, summaries ------------------------------------------------------------


def test_same_file_twice_changes_nothing_and_a_corrected_file_updates_its_rows(tenant_a, run_import):
    first = run_import(tenant_a, "invoice_lines", LINES)
    assert first.result["created"] == {"reps": 1, "customers": 2, "products": 2, "invoice_lines": 3}
    counts = table_counts(tenant_a.distributor)
    with scopes_disabled():
        months_before = sorted(CustomerMonth.objects.filter(distributor=tenant_a.distributor).values_list())

    again = run_import(tenant_a, "invoice_lines", LINES)
    assert again.result["created"] == {"reps": 0, "customers": 0, "products": 0, "invoice_lines": 0}
    assert again.result["updated"] == {"invoice_lines": 0}
    assert again.result["unchanged"]["invoice_lines"] == 3
    assert table_counts(tenant_a.distributor) == counts
    with scopes_disabled():
        assert sorted(CustomerMonth.objects.filter(distributor=tenant_a.distributor).values_list()) == months_before

    # The corrected file moves INV-2 to customer C-100 and changes its amount.
    corrected = LINES.replace("INV-2,2024-02-10,C-200", "INV-2,2024-02-10,C-100").replace("-20.10", "-25.00")
    fixed = run_import(tenant_a, "invoice_lines", corrected)
    assert fixed.result["updated"] == {"invoice_lines": 1}
    assert fixed.result["unchanged"]["invoice_lines"] == 2
    with scopes_disabled():
        months = {
            (m.customer.customer_id, m.month.isoformat()): (m.revenue, m.lines, m.return_lines, m.orders)
            for m in CustomerMonth.objects.filter(distributor=tenant_a.distributor).select_related("customer")
        }
    assert months == {
        ("C-100", "2024-01-01"): (Decimal("120.5"), 2, 0, 1),
        ("C-100", "2024-02-01"): (Decimal("-25"), 1, 1, 1),
    }


def test_lines_create_unknown_customers_products_partners_reps_and_keep_known_ones(tenant_a, run_import):
    known = tenant_a.assigned_customer
    text = (
        "invoice_id,invoice_date,customer_id,customer_name,product_id,product_name,category,brand,supplier_id,"
        "quantity,revenue,cost,partner_id,rep_id,special_order,days_to_pay\n"
        f"I-1,2024-01-01,{known.customer_id},Renamed?,NEW-SKU,Widget,Widgets,WBrand,SUP-1,1,10,5,NEW-P,NEW-R,yes,30\n"
        f"I-2,2024-01-02,NEW-C,New Co,{tenant_a.product.product_id},,,,,1,10,5,{tenant_a.partner.partner_id},,no,\n"
    )
    job = run_import(tenant_a, "invoice_lines", text)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["created"] == {"reps": 1, "customers": 1, "products": 1, "partners": 1, "invoice_lines": 2}
    assert job.result["unchanged"]["customers"] == 1
    assert "Also created 1 reps, 1 customers, 1 products, 1 partners." in job.message
    with scopes_disabled():
        known.refresh_from_db()
        assert known.name != "Renamed?"  # lines create customers, they never rename them
        new = Customer.objects.get(distributor=tenant_a.distributor, customer_id="NEW-C")
        assert new.name == "New Co"
        sku = Product.objects.get(distributor=tenant_a.distributor, product_id="NEW-SKU")
        assert (sku.name, sku.category, sku.brand, sku.supplier_id) == ("Widget", "Widgets", "WBrand", "SUP-1")
        lines = InvoiceLine.objects.select_related("partner", "rep")
        line = lines.get(distributor=tenant_a.distributor, invoice_id="I-1")
        assert (line.special_order, line.days_to_pay, line.partner.partner_id, line.rep.rep_id) == (
            True,
            30,
            "NEW-P",
            "NEW-R",
        )
        assert Rep.objects.filter(rep_id="NEW-R").get().distributor_id == tenant_a.distributor.pk


def test_a_customer_lines_create_has_its_name_and_class_but_no_home_branch_or_assigned_rep(tenant_a, run_import):
    """DATA_FORMAT.md: a line creates a customer "from the customer_name ... columns": a line's branch
    and rep are the sale's (the `branch` and `rep` dimensions), not the customer's home branch or
    assigned rep, which a customers file gives (imported before or after the lines)."""
    text = (
        "invoice_id,invoice_date,customer_id,customer_name,customer_class,product_id,quantity,revenue,cost,"
        "branch,rep_id\n"
        "I-1,2024-01-01,NEW-C,New Co,contractor,P-1,1,10,5,Dallas,R-1\n"
        "I-2,2024-01-02,NEW-C,New Co,contractor,P-1,1,10,5,Tulsa,R-2\n"
    )
    assert run_import(tenant_a, "invoice_lines", text).status == Job.Status.SUCCEEDED
    with scopes_disabled():
        new = Customer.objects.get(distributor=tenant_a.distributor, customer_id="NEW-C")
        assert (new.name, new.customer_class, new.branch, new.rep_id) == ("New Co", "contractor", "", None)
        sold = InvoiceLine.objects.filter(customer=new).order_by("invoice_id")
        assert [(line.branch, line.rep.rep_id) for line in sold.select_related("rep")] == [
            ("Dallas", "R-1"),
            ("Tulsa", "R-2"),
        ]
    customers = "customer_id,name,branch,rep_id\nNEW-C,New Co,Dallas,R-2\n"
    assert run_import(tenant_a, "customers", customers).status == Job.Status.SUCCEEDED
    with scopes_disabled():
        new.refresh_from_db()
        assert (new.branch, new.rep.rep_id) == ("Dallas", "R-2")


def test_line_numbers_default_to_the_position_within_the_invoice_across_chunks(tenant_a, run_import, settings):
    settings.IMPORT_CHUNK_ROWS = 2
    rows = ["invoice_id,invoice_date,customer_id,product_id,quantity,revenue,cost"]
    for i, invoice in enumerate(["A", "B", "A", "C", "A", "B"]):
        rows.append(f"{invoice},2024-01-01,C1,P{i},1,{i},0")
    job = run_import(tenant_a, "invoice_lines", "\n".join(rows) + "\n")
    assert job.status == Job.Status.SUCCEEDED, job.message
    with scopes_disabled():
        got = sorted(
            InvoiceLine.objects.filter(distributor=tenant_a.distributor).values_list(
                "invoice_id", "line_no", "product__product_id"
            )
        )
    assert got == [("A", 1, "P0"), ("A", 2, "P2"), ("A", 3, "P4"), ("B", 1, "P1"), ("B", 2, "P5"), ("C", 1, "P3")]


def test_tenants_are_separate(tenant_a, tenant_b, run_import):
    run_import(tenant_a, "invoice_lines", LINES)
    job = run_import(tenant_b, "invoice_lines", LINES)
    # Same natural keys in another tenant: new rows of B, A's rows untouched.
    assert job.result["created"]["invoice_lines"] == 3
    assert table_counts(tenant_a.distributor)["invoice_lines"] == 3
    assert table_counts(tenant_b.distributor)["invoice_lines"] == 3


# --- the other kinds --------------------------------------------------------------------------------


def test_customers_products_partners_and_interactions(tenant_a, run_import):
    customers = (
        "Customer ID,Name,Class,Supply Chain Role,Rep,Potential Annual Spend,Credit Terms Days,Reasons For Purchase\n"
        f"{tenant_a.assigned_customer.customer_id},Renamed Ltd,OEM,OEM,{tenant_a.other_rep.rep_id},"
        "50000,30,price;range\n"
        "K-2,Kay Two,contractor,End user,,,,\n"
    )
    job = run_import(tenant_a, "customers", customers)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert (job.result["created"]["customers"], job.result["updated"]["customers"]) == (1, 1)
    with scopes_disabled():
        c = Customer.objects.get(pk=tenant_a.assigned_customer.pk)
        assert (c.name, c.supply_chain_role, c.rep_id, c.potential_annual_spend, c.credit_terms_days) == (
            "Renamed Ltd",
            "oem",
            tenant_a.other_rep.pk,
            Decimal("50000"),
            30,
        )
        assert c.branch == "North"  # a column the file does not have keeps its value
    assert run_import(tenant_a, "customers", customers).result["unchanged"]["customers"] == 2

    products = "product_id,name,category,is_stock,replacement_cycle_days\nNP-1,Nut,Fasteners,Y,90\n"
    job = run_import(tenant_a, "products", products)
    assert job.result["created"]["products"] == 1

    partners = "partner_id,name,kind\nPP-1,Install Co,Installer\n"
    assert run_import(tenant_a, "partners", partners).result["created"]["partners"] == 1

    interactions = (
        "customer_id,date,kind,summary,opportunity\n"
        "K-2,2024-05-01,Visit,Walked the site,yes\n"
        "NEW-K,2024-05-02,e-mail,Quote follow-up,\n"
    )
    job = run_import(tenant_a, "interactions", interactions)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["created"] == {"customers": 1, "interactions": 2}
    assert run_import(tenant_a, "interactions", interactions).result["unchanged"]["interactions"] == 2


def test_unknown_choice_is_an_error(tenant_a, run_import):
    before = table_counts(tenant_a.distributor)
    job = run_import(tenant_a, "partners", "partner_id,name,kind\nPP-1,X,alien\n")
    assert job.status == Job.Status.FAILED
    assert job.result["errors"][0]["reason"].startswith("unknown value (expected one of: supplier")
    assert table_counts(tenant_a.distributor) == before


# --- the fast path for typed frames -----------------------------------------------------------------


def test_load_frame_writes_typed_frames_idempotently(tenant_a):
    frame = pd.DataFrame(
        {
            "invoice_id": ["F1", "F1", "F2"],
            "line_no": [1, 2, 1],
            "invoice_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-05"]),
            "customer_id": ["LF-1", "LF-1", "LF-2"],
            "product_id": ["LP-1", "LP-2", "LP-1"],
            "quantity": [1.0, 2.0, -1.0],
            "revenue": [10.25, 20.5, -10.25],
            "cost": [5.0, 10.0, -5.0],
            "special_order": [True, False, False],
            "days_to_pay": pd.array([30, None, 12], dtype="Int64"),
        }
    )
    result = load_frame(distributor=tenant_a.distributor, kind="invoice_lines", frame=frame)
    assert result["rows"] == 3 and result["created"]["invoice_lines"] == 3
    again = load_frame(distributor=tenant_a.distributor, kind="invoice_lines", frame=frame)
    assert again["unchanged"]["invoice_lines"] == 3 and again["updated"]["invoice_lines"] == 0
    with scopes_disabled():
        line = InvoiceLine.objects.get(distributor=tenant_a.distributor, invoice_id="F1", line_no=2)
        assert (line.revenue, line.days_to_pay, line.invoice_date.isoformat()) == (Decimal("20.5"), None, "2024-01-01")
        months = CustomerMonth.objects.filter(distributor=tenant_a.distributor, customer__customer_id="LF-1")
        assert months.get().lines == 2


# --- all or nothing ---------------------------------------------------------------------------------


def test_a_failure_in_the_middle_of_the_merge_leaves_no_rows_and_fails_the_job(tenant_a, run_import, monkeypatch):
    before = table_counts(tenant_a.distributor)

    def crash(*args, **kwargs):
        raise RuntimeError("worker died")

    # Lines, customers, products and the invoice, product and category summaries are already written
    # inside the merge transaction when the month summaries are.
    monkeypatch.setattr(summaries, "_insert_months", crash)
    job = run_import(tenant_a, "invoice_lines", LINES)
    assert job.status == Job.Status.FAILED
    assert "worker died" in job.message
    assert table_counts(tenant_a.distributor) == before
    monkeypatch.undo()
    assert run_import(tenant_a, "invoice_lines", LINES).result["created"]["invoice_lines"] == 3


def staging_tables() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relname LIKE 'import\\_stage\\_%%' AND relpersistence = 't'"
            )
        else:
            cursor.execute("SELECT count(*) FROM sqlite_temp_master WHERE name LIKE 'import_stage_%%'")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("bad", ["2024-02-10", "10,100.50"])
def test_the_staging_table_is_dropped_on_failure_and_on_success(tenant_a, run_import, bad):
    job = run_import(tenant_a, "invoice_lines", LINES.replace(bad, "oops"))
    assert job.status == Job.Status.FAILED
    assert staging_tables() == 0
    assert run_import(tenant_a, "invoice_lines", LINES).status == Job.Status.SUCCEEDED
    assert staging_tables() == 0


def test_errors_csv_escapes_formulas(tenant_a, run_import):
    job = run_import(tenant_a, "invoice_lines", LINES.replace("100.50", "=1+2"))
    text = errors_csv(job)
    assert text.splitlines()[0] == "row,column,value,reason"
    assert "2,revenue,'=1+2,not a number" in text


def test_unknown_kind_is_refused_naming_kind(tenant_a, write_file):
    from imports.services import import_start

    with pytest.raises(ValidationError) as caught:
        import_start(distributor=tenant_a.distributor, actor=None, kind="orders", path=write_file(LINES))
    assert "kind" in caught.value.message_dict


def test_progress_is_reported_chunk_by_chunk(tenant_a, write_file, settings):
    from django_scopes import scope

    from imports.services import import_start, run_import

    settings.IMPORT_CHUNK_ROWS = 1
    job = import_start(
        distributor=tenant_a.distributor, actor=None, kind="invoice_lines", path=write_file(LINES), dispatch=False
    )
    calls = []
    with scope(distributor=tenant_a.distributor):
        result = run_import(job, lambda percent, message="": calls.append((percent, message)))
    percents = [p for p, _ in calls]
    assert percents == sorted(percents) and percents[0] >= 0 and percents[-1] < 100
    assert [m for _, m in calls if m.startswith("Checked")][:3] == [
        "Checked 1 rows…",
        "Checked 2 rows…",
        "Checked 3 rows…",
    ]
    assert any(m.startswith("Writing 3 rows") for _, m in calls)
    assert result["rows"] == 3


def test_an_import_attempt_the_sweep_replaced_writes_nothing(tenant_a, write_file):
    """Issue 10, item 7: the merge's last statement is the job's fence; an older attempt (the sweep
    requeued the job and a newer attempt claimed it) rolls its whole merge back."""
    from django_scopes import scope, scopes_disabled

    from imports.services import import_start, run_import
    from sales.models import InvoiceLine
    from stratify.jobs.models import Job
    from stratify.jobs.registry import JobSuperseded

    job = import_start(
        distributor=tenant_a.distributor, actor=None, kind="invoice_lines", path=write_file(LINES), dispatch=False
    )
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1)
        job.refresh_from_db()

    def progress(percent, message=""):
        if message.startswith("Committing"):  # meanwhile the sweep requeued it and attempt 2 claimed it
            with scopes_disabled():
                Job.objects.filter(pk=job.pk).update(attempts=2)

    with scope(distributor=tenant_a.distributor), pytest.raises(JobSuperseded):
        run_import(job, progress)
    with scopes_disabled():
        assert not InvoiceLine.objects.filter(distributor=tenant_a.distributor).exists()


def test_a_replaced_attempt_does_not_record_its_errors(tenant_a, write_file):
    """The errors of a failed import are stored only by the attempt that still owns the job."""
    from django_scopes import scope, scopes_disabled

    from imports.errors import ImportFailed
    from imports.services import import_start, run_import
    from stratify.jobs.models import Job

    job = import_start(
        distributor=tenant_a.distributor,
        actor=None,
        kind="invoice_lines",
        path=write_file("invoice_id,invoice_date\nI1,2026-01-01\n"),
        dispatch=False,
    )
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1)
        job.refresh_from_db()
        Job.objects.filter(pk=job.pk).update(attempts=2, result={"kept": "attempt 2"})  # the sweep's new attempt
    with scope(distributor=tenant_a.distributor), pytest.raises(ImportFailed):
        run_import(job, lambda percent, message="": None)
    with scopes_disabled():
        assert Job.objects.get(pk=job.pk).result == {"kept": "attempt 2"}


def test_importing_names_makes_the_pages_cached_per_run_read_them_again(
    tenant_a, run_import, django_capture_on_commit_callbacks
):
    """The reps' and partners' names are read on pages cached per run (the profit centers' sentences,
    the dashboard): a customers or partners import, or a partner's edit, moves the tenant's cache on
    once it commits; an import of lines does not (a run's pages stay cached)."""
    from channels.models import Partner
    from channels.services import partner_update
    from stratify.cache import tenant_generation

    def generation_after(action) -> tuple[int, int]:
        before = tenant_generation(tenant_a.distributor.pk)
        with django_capture_on_commit_callbacks(execute=True):
            done = action()
        assert getattr(done, "status", "succeeded") == "succeeded", done.message
        return before, tenant_generation(tenant_a.distributor.pk)

    partners = "partner_id,name,kind\nSUP004,Delta Supply Co,supplier\n"
    customers = "customer_id,name,rep_id,rep_name\nC-9,Nine Ltd,R-9,Ann Lee\n"
    lines = "invoice_id,invoice_date,customer_id,product_id,quantity,revenue,cost\nI-1,2026-01-05,C-9,P-1,1,10,5\n"
    before, after = generation_after(lambda: run_import(tenant_a, "partners", partners))
    assert after > before
    before, after = generation_after(lambda: run_import(tenant_a, "customers", customers))
    assert after > before
    before, after = generation_after(lambda: run_import(tenant_a, "invoice_lines", lines))
    assert after == before
    with scopes_disabled():
        partner = Partner.objects.get(distributor=tenant_a.distributor, partner_id="SUP004")
    before, after = generation_after(lambda: partner_update(partner=partner, data={"name": "Delta Supply Company"}))
    assert after > before


TRAILING = (
    "invoice_id,line_no,invoice_date,customer_id,product_id,quantity,revenue,cost\n"
    "T-1,1,2026-11-01,TC1,TP1,2,100.00,60.00,\n"
    "T-2,1,2026-11-02,TC1,TP1,1,50.00,30.00,\n"
    "T-3,1,2026-11-03,TC2,TP1,1,25.00,15.00\n"  # one row without the trailing delimiter
)


def test_rows_ending_with_a_delimiter_are_read_as_the_header_names_them(tenant_a, run_import):
    """Every data row ends with a delimiter the header does not have (a common ERP export): the empty
    last field is dropped and every value lands in its own column (a 500 before); an extra field
    holding a value is refused naming its line, and nothing is written."""
    job = run_import(tenant_a, "invoice_lines", TRAILING)
    assert job.status == "succeeded", job.message
    with scopes_disabled():
        lines = {
            line.invoice_id: (line.customer.customer_id, line.product.product_id, line.revenue, line.cost)
            for line in InvoiceLine.objects.filter(distributor=tenant_a.distributor, invoice_id__startswith="T-")
        }
    assert lines == {
        "T-1": ("TC1", "TP1", Decimal("100.00"), Decimal("60.00")),
        "T-2": ("TC1", "TP1", Decimal("50.00"), Decimal("30.00")),
        "T-3": ("TC2", "TP1", Decimal("25.00"), Decimal("15.00")),
    }
    twice = TRAILING.replace(",\n", ",,\n").replace("T-", "V-")  # two empty fields at the end of each row
    assert run_import(tenant_a, "invoice_lines", twice).status == "succeeded"
    with scopes_disabled():
        read = InvoiceLine.objects.filter(distributor=tenant_a.distributor, invoice_id__startswith="V-")
        assert sorted((x.invoice_id, x.customer.customer_id, x.revenue, x.cost) for x in read) == [
            ("V-1", "TC1", Decimal("100.00"), Decimal("60.00")), ("V-2", "TC1", Decimal("50.00"), Decimal("30.00")),
            ("V-3", "TC2", Decimal("25.00"), Decimal("15.00")),
        ]  # fmt: skip
    extra = TRAILING.replace("30.00,\n", "30.00,oops\n").replace("T-", "U-")
    failed = run_import(tenant_a, "invoice_lines", extra)
    assert failed.status == "failed"
    assert "line 3 has 9 fields where the header has 8" in failed.message, failed.message
    with scopes_disabled():
        assert not InvoiceLine.objects.filter(distributor=tenant_a.distributor, invoice_id__startswith="U-").exists()


def test_a_mistyped_mapping_formula_or_date_format_is_refused_before_anything_is_read(tenant_a):
    """`Sales -` is not the column `Sales`, nor `-Profit` the column `Profit` (a dangling sign made
    every cost equal to the revenue, or added the profit); `%Q` is not a date directive (the job said
    something about %z). Each is refused naming what is wrong; the good ones still resolve."""
    from imports.errors import ImportFailed
    from imports.formats import get_kind
    from imports.validation import resolve_plan

    kind = get_kind("invoice_lines")
    headers = ["Order ID", "Order Date", "Customer ID", "Product ID", "Quantity", "Sales", "Profit", "Sub-Category"]
    base = {"invoice_id": "Order ID", "invoice_date": "Order Date", "revenue": "Sales"}
    for cost, wrong in (("Sales -", "Sales -"), ("Sales + -Profit", "-Profit"), ("Sales - Profit -", "Profit -")):
        with pytest.raises(ImportFailed) as refused:
            resolve_plan(kind, headers, {**base, "cost": cost})
        assert repr(wrong) in str(refused.value) and "not a column of the file" in str(refused.value), cost
    plan = resolve_plan(kind, headers, {**base, "cost": "sales - PROFIT", "category": "sub category"})
    assert str(plan.sources["cost"].terms) == "((1, 'Sales'), (-1, 'Profit'))"
    assert plan.sources["category"] == "Sub-Category"
    for bad, says in (("%Q", "%Q is not a directive"), ("%d/%m/%", "a lone % is not a directive")):
        with pytest.raises(ImportFailed) as refused:
            resolve_plan(kind, headers, {**base, "cost": "Sales - Profit"}, date_format=bad)
        assert says in str(refused.value), str(refused.value)
    assert resolve_plan(kind, headers, {**base, "cost": "Sales - Profit"}, date_format="%d/%m/%Y").date_format


def test_a_lines_import_page_says_lines_never_change_what_they_name(tenant_a, run_import):
    """Re-importing lines with another category mapping counts the products "unchanged": the page says
    lines only create what they name, and a products file changes it; other kinds do not say so."""
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(tenant_a.manager)

    def page(job) -> str:
        return client.get(reverse("import-detail", kwargs={"tenant": tenant_a.slug, "pk": job.number})).content.decode()

    assert 'id="lines-create-only"' in page(run_import(tenant_a, "invoice_lines", TRAILING))
    assert 'id="lines-create-only"' not in page(run_import(tenant_a, "customers", "customer_id,name\nZ-1,Zed\n"))
