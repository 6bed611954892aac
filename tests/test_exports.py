"""Issue 11, item 3: exports a person can use. Read back with csv and openpyxl: money rounded to the
cent (the header names the currency), percentages as percentages, segments and movements by their
labels, XLSX numbers typed as numbers and dates as dates, formula-like text stored as text (no visible
apostrophe in XLSX; CSV keeps its `'` escape)."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from openpyxl import load_workbook

from alerts.models import Alert
from stratify.exports import Money, Percent, escape_formula, export_response
from stratify.jobs.services import job_enqueue
from tests import factories as f
from tests.pages.conftest import login, make_run

pytestmark = pytest.mark.django_db


def read(response, fmt):
    if fmt == "csv":
        return list(csv.reader(io.StringIO(response.content.decode())))
    return load_workbook(io.BytesIO(response.content)).active


@pytest.fixture
def scored(tenant_a):
    d = tenant_a.distributor
    with scopes_disabled():
        formula = f.CustomerFactory(distributor=d, rep=tenant_a.rep, customer_id="alpha-F1", name="=1+2")
    make_run(d, {tenant_a.assigned_customer: {"segment": "core"}})
    run = make_run(
        d,
        {
            tenant_a.assigned_customer: {
                "segment": "service_drain",
                "previous_segment": "core",
                "revenue": 12345.678,
                "gm_pct": 0.23456,
                "net_profit": -800.005,
            },
            formula: {"segment": "core", "previous_segment": "core"},
        },
    )
    # Attention is the customer's open alerts (issue 15).
    with scopes_disabled():
        customer = tenant_a.assigned_customer
        Alert.objects.create(
            distributor=d, kind="moved_down", severity="high", key=f"{customer.pk}|customer|{customer.customer_id}",
            customer=customer, subject_type="customer", subject=customer.customer_id, raised_run=run, last_run=run,
            amount=100, figures={}, message="moved down",
        )  # fmt: skip
    return tenant_a


def test_my_customers_csv_has_money_to_the_cent_percentages_and_labels(scored):
    url = reverse("my-customers", kwargs={"tenant": scored.slug})
    rows = read(login(scored.rep_user).get(url, {"export": "csv"}), "csv")
    header = rows[0]
    assert header == [
        "Account",
        "Customer",
        "Branch",
        "Class",
        "Rep",
        "Segment",
        "Previous segment",
        "Revenue (USD)",
        "GM %",
        "Net profit (USD)",
        "Movement",
        "Attention",
    ]
    by_account = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    mine = by_account[scored.assigned_customer.customer_id]
    assert mine["Revenue (USD)"] == "12345.68" and mine["Net profit (USD)"] == "-800.00"
    assert mine["GM %"] == "23.46"
    assert (mine["Segment"], mine["Previous segment"], mine["Movement"]) == ("Service drain", "Core", "Moved down")
    assert mine["Attention"] == "Moved down"
    assert by_account["alpha-F1"]["Customer"] == "'=1+2"  # CSV keeps its escape
    assert by_account["alpha-F1"]["Movement"] == "Unchanged"


def test_my_customers_xlsx_types_its_cells(scored):
    url = reverse("my-customers", kwargs={"tenant": scored.slug})
    sheet = read(login(scored.rep_user).get(url, {"export": "xlsx"}), "xlsx")
    header = [c.value for c in sheet[1]]
    rows = {row[0].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}
    mine = rows[scored.assigned_customer.customer_id]
    assert mine["Revenue (USD)"].value == pytest.approx(12345.68) and mine["Revenue (USD)"].data_type == "n"
    assert mine["Revenue (USD)"].number_format == "#,##0.00"
    assert mine["GM %"].value == pytest.approx(0.23456) and mine["GM %"].number_format == "0.00%"
    assert mine["Net profit (USD)"].value == pytest.approx(-800.00)
    assert mine["Segment"].value == "Service drain" and mine["Movement"].value == "Moved down"
    formula = rows["alpha-F1"]["Customer"]
    assert formula.value == "=1+2" and formula.data_type == "s" and formula.quotePrefix  # text, no apostrophe


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_jobs_export_writes_dates_as_dates(tenant_a, fmt):
    with scope(distributor=tenant_a.distributor):
        job = job_enqueue(distributor=tenant_a.distributor, kind="import", dispatch=False)
        job.started_at = datetime(2026, 11, 30, 7, 5, tzinfo=UTC)
        job.save()
    url = reverse("job-list", kwargs={"tenant": tenant_a.slug})
    data = read(login(tenant_a.manager).get(url, {"export": fmt}), fmt)
    if fmt == "csv":
        assert data[1][4].startswith("2026-11-30 ")
    else:
        cell = data.cell(row=2, column=5)
        assert isinstance(cell.value, datetime) and cell.value.date() == date(2026, 11, 30)
        assert cell.is_date and data.cell(row=2, column=1).value == job.number  # numbers stay numbers


def test_export_response_types_every_kind_of_cell():
    rows = [["=cmd|' /C calc'!A0", "-5.00", Money(Decimal("1.005")), Percent(0.5), date(2026, 1, 2), 7, None]]
    headers = ["Text", "Number text", "Money", "Share %", "Day", "Count", "Empty"]
    text = export_response(headers=headers, rows=rows, fmt="csv", filename="x").content.decode()
    assert list(csv.reader(io.StringIO(text)))[1] == [
        "'=cmd|' /C calc'!A0",
        "-5.00",
        "1.00",  # 1.005: half-even
        "50.00",
        "2026-01-02",
        "7",
        "",
    ]
    sheet = load_workbook(
        io.BytesIO(export_response(headers=headers, rows=rows, fmt="xlsx", filename="x").content)
    ).active
    cells = list(sheet[2])
    assert cells[0].value == "=cmd|' /C calc'!A0" and cells[0].data_type == "s"
    assert cells[1].value == "-5.00" and cells[1].data_type == "s"
    assert cells[2].value == pytest.approx(1.00) and cells[3].value == 0.5
    assert cells[4].is_date and cells[5].value == 7 and cells[6].value is None


def test_the_customers_export_keeps_the_page_s_sort(scored):
    """The Export link carries `?sort=`: the file lists the customers in the order the page shows."""
    url = reverse("my-customers", kwargs={"tenant": scored.slug})
    client = login(scored.rep_user)
    for sort in ("name", "-name", "revenue", "-revenue"):
        page_order = [
            row.record.customer_id for row in client.get(url, {"sort": sort}).context["table"].page.object_list
        ]
        exported = [row[0] for row in read(client.get(url, {"sort": sort, "export": "csv"}), "csv")[1:]]
        assert len(exported) > 1 and exported == [escape_formula(a) for a in page_order], sort


def test_sorting_puts_customers_without_a_figure_last_both_ways(scored):
    """A customer not in the run has no revenue: it comes after every figure whether the page sorts up
    or down, on both databases (PostgreSQL puts NULLs first when sorting down, SQLite when sorting up)."""
    with scopes_disabled():
        f.CustomerFactory(distributor=scored.distributor, rep=scored.rep, customer_id="alpha-new", name="New")
    url = reverse("my-customers", kwargs={"tenant": scored.slug})
    client = login(scored.rep_user)
    for sort in ("revenue", "-revenue"):
        revenues = [row.record.revenue for row in client.get(url, {"sort": sort}).context["table"].page.object_list]
        header, *rows = read(client.get(url, {"sort": sort, "export": "csv"}), "csv")
        column = next(i for i, name in enumerate(header) if name.startswith("Revenue"))
        exported = [row[column] for row in rows]
        figures = [r for r in revenues if r is not None]
        assert figures and None in revenues, revenues  # the fixture has both
        assert revenues == figures + [None] * (len(revenues) - len(figures)), (sort, revenues)
        assert exported[-1] == "" and exported[0] != "", (sort, exported)


def test_only_columns_that_can_be_empty_are_sorted_empty_last():
    """A never-empty column keeps its plain sort, which an index can serve (`amount DESC NULLS LAST`
    is not the order of the amount index: PostgreSQL would read and sort every alert); a nullable field
    or a left-joined figure gets NULLs last."""
    from django.db.models import F, Value
    from django.db.models.expressions import OrderBy

    from sales.models import Customer
    from stratify.tenancy.lists import _empty_last

    with scopes_disabled():
        alerts = Alert.objects.all().query
        customers = Customer.objects.annotate(revenue=Value(None)).query
    assert _empty_last("-amount", alerts) == "-amount" and _empty_last("id", alerts) == "id"
    assert _empty_last("customer__customer_id", alerts) == F("customer__customer_id").asc(nulls_last=True)
    assert _empty_last("-revenue", customers) == F("revenue").desc(nulls_last=True)
    assert _empty_last("rep__name", customers) == F("rep__name").asc(nulls_last=True)  # no rep: empty
    assert _empty_last("customer_id", customers) == "customer_id"
    kept = F("x").asc()
    assert _empty_last(kept, customers) is kept and isinstance(kept, OrderBy)


def test_a_printed_page_of_a_longer_list_says_which_rows_it_holds(scored):
    """Printing hides the pager: the printout says which rows it holds and that the export has them all."""
    url = reverse("my-customers", kwargs={"tenant": scored.slug})
    html = login(scored.rep_user).get(url, {"per_page": 1}).content.decode()
    assert 'class="print-only small mb-0 px-2 table-print-range">Rows 1 to 1 of 2 (page 1 of 2)' in html
    assert "table-print-range" not in login(scored.rep_user).get(url).content.decode()  # one page: nothing to say
