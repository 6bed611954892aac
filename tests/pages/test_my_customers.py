"""The rep's my-customers table: visibility, order, filters, search, exports."""

import csv
import io

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from alerts.models import Alert
from segments.vocabulary import movement_of
from tests import factories as f

from .conftest import login, make_run

pytestmark = pytest.mark.django_db


def url(tenant):
    return reverse("my-customers", kwargs={"tenant": tenant.slug})


@pytest.fixture
def scored(tenant_a):
    """Besides the fixture's customers: a marginal one of the rep's that dropped from core, a core
    one named like a formula, and a new opportunistic one in another branch."""
    d = tenant_a.distributor
    with scopes_disabled():
        dropped = f.CustomerFactory(distributor=d, rep=tenant_a.rep, customer_id="alpha-D1", name="Dropper Ltd")
        formula = f.CustomerFactory(
            distributor=d, rep=tenant_a.rep, customer_id="alpha-F1", name='=HYPERLINK("http://evil")'
        )
        south = f.CustomerFactory(
            distributor=d,
            rep=tenant_a.rep,
            customer_id="alpha-S1",
            name="Southern",
            branch="South",
            customer_class="retail",
        )
    run = make_run(
        d,
        {
            dropped: {"segment": "marginal", "previous_segment": "core", "revenue": 99999.0},
            tenant_a.assigned_customer: {"segment": "core", "previous_segment": "core", "revenue": 10.0},
            formula: {"segment": "core", "previous_segment": "core", "revenue": 5.0},
            south: {"segment": "opportunistic", "previous_segment": "", "revenue": 50.0, "net_profit": -10.0},
            tenant_a.unassigned_customer: {"segment": "core", "previous_segment": "core"},
        },
    )
    # "Needs attention" is open alerts (issue 15): the one that dropped and the one costing too much to
    # serve have open ones; the formula-named one only a dismissed one.
    with scopes_disabled():
        for customer, kind, status in (
            (dropped, "moved_down", "open"),
            (south, "cost_to_serve_fix", "acknowledged"),
            (formula, "slipping", "dismissed"),
        ):
            Alert.objects.create(
                distributor=d, kind=kind, severity="high", key=f"{customer.pk}|customer|{customer.customer_id}",
                customer=customer, subject_type="customer", subject=customer.customer_id, raised_run=run,
                last_run=run, amount=100, figures={}, message=f"{kind} alert", status=status,
            )  # fmt: skip
    return {"dropped": dropped, "formula": formula, "south": south}


def accounts(response):
    return [row.record.customer_id for row in response.context["table"].page.object_list]


def test_rep_sees_only_assigned_customers_core_first(tenant_a, scored):
    response = login(tenant_a.rep_user).get(url(tenant_a))
    assert response.status_code == 200
    rows = accounts(response)
    assert tenant_a.unassigned_customer.customer_id not in rows
    # Core first (by revenue within), then opportunistic, then marginal, though marginal has most revenue.
    assert rows == [tenant_a.assigned_customer.customer_id, "alpha-F1", "alpha-S1", "alpha-D1"]


def test_manager_sees_every_customer(tenant_a, scored):
    rows = accounts(login(tenant_a.manager).get(url(tenant_a)))
    assert tenant_a.unassigned_customer.customer_id in rows


def test_filters_segment_branch_class_movement_search_and_attention(tenant_a, scored):
    client = login(tenant_a.rep_user)
    assert accounts(client.get(url(tenant_a), {"segment": "core"})) == [
        tenant_a.assigned_customer.customer_id,
        "alpha-F1",
    ]
    assert accounts(client.get(url(tenant_a), {"branch": "South"})) == ["alpha-S1"]
    assert accounts(client.get(url(tenant_a), {"customer_class": "retail"})) == ["alpha-S1"]
    assert accounts(client.get(url(tenant_a), {"movement": "down"})) == ["alpha-D1"]
    assert accounts(client.get(url(tenant_a), {"movement": "new"})) == ["alpha-S1"]
    assert set(accounts(client.get(url(tenant_a), {"movement": "same"}))) == {
        tenant_a.assigned_customer.customer_id,
        "alpha-F1",
    }
    assert accounts(client.get(url(tenant_a), {"q": "dropper"})) == ["alpha-D1"]
    assert accounts(client.get(url(tenant_a), {"previous": "core", "segment": "marginal"})) == ["alpha-D1"]
    # Attention: the customers with open (or acknowledged) alerts.
    assert set(accounts(client.get(url(tenant_a), {"attention": "true"}))) == {"alpha-D1", "alpha-S1"}


def test_table_shows_movement_and_attention_reasons(tenant_a, scored):
    html = login(tenant_a.rep_user).get(url(tenant_a)).content.decode()
    assert "<li>Moved down</li>" in html
    assert "<li>Cost-to-serve fix</li>" in html
    assert "Slipping" not in html  # dismissed
    assert "Moved down" in html


def test_attention_lists_the_biggest_alerts_and_counts_the_rest(tenant_a, scored):
    """A customer with many open alerts: the count, the three with the most money at stake in words,
    and "and N more" (the row stays readable; every alert is on the customer's page)."""
    dropped = scored["dropped"]
    with scopes_disabled():
        run = Alert.objects.get(customer=dropped).raised_run
        for i in range(6):
            Alert.objects.create(
                distributor=tenant_a.distributor, kind="replenishment_due", severity="low",
                key=f"{dropped.pk}|product|SKU{i}", customer=dropped, subject_type="product", subject=f"SKU{i}",
                raised_run=run, last_run=run, amount=200 + i, figures={}, message="due",
            )  # fmt: skip
        f.ProductFactory(distributor=tenant_a.distributor, product_id="SKU5", name="Filter cartridge")
    html = login(tenant_a.rep_user).get(url(tenant_a)).content.decode()
    assert "⚠ 7</span>" in html
    assert "<li>Replenishment due: SKU5 (Filter cartridge)</li>" in html  # a product by its code and name
    assert all(f"<li>Replenishment due: SKU{i}</li>" in html for i in (4, 3))  # the biggest amounts
    assert "SKU2</li>" not in html and "<li>Moved down</li>" not in html
    assert '<li class="text-muted">and 4 more</li>' in html


def test_sorting_by_revenue(tenant_a, scored):
    rows = accounts(login(tenant_a.rep_user).get(url(tenant_a), {"sort": "-revenue"}))
    assert rows[0] == "alpha-D1"


def test_csv_export_escapes_formulas_and_has_every_filtered_row(tenant_a, scored):
    response = login(tenant_a.rep_user).get(url(tenant_a), {"export": "csv", "segment": "core"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Account", "Customer", "Branch"]
    names = {r[0]: r[1] for r in rows[1:]}
    assert set(names) == {tenant_a.assigned_customer.customer_id, "alpha-F1"}
    assert names["alpha-F1"] == '\'=HYPERLINK("http://evil")'


def test_xlsx_export_escapes_formulas(tenant_a, scored):
    response = login(tenant_a.rep_user).get(url(tenant_a), {"export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Account"
    by_account = {r[0]: r for r in values[1:]}
    # Issue 11, item 3: stored as text (never a formula), without a visible apostrophe.
    assert by_account["alpha-F1"][1] == '=HYPERLINK("http://evil")'
    formula_row = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "alpha-F1")
    assert formula_row[1].data_type == "s" and formula_row[1].quotePrefix
    assert tenant_a.unassigned_customer.customer_id not in by_account
    assert by_account["alpha-D1"][7] == 99999  # numbers stay numbers, not text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_an_empty_filter_has_headers_only(tenant_a, scored, fmt):
    response = login(tenant_a.rep_user).get(url(tenant_a), {"export": fmt, "q": "nobody-matches"})
    assert response.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode())))
    else:
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 and rows[0][0] == "Account"


def test_without_a_run_customers_are_listed_without_segments(tenant_a):
    response = login(tenant_a.rep_user).get(url(tenant_a))
    assert response.status_code == 200
    assert accounts(response) == [tenant_a.assigned_customer.customer_id]
    assert "No published stratification yet" in response.content.decode()


def test_customer_users_cannot_reach_the_table(tenant_a, scored):
    assert login(tenant_a.customer_user).get(url(tenant_a)).status_code == 403
    assert login(tenant_a.customer_user).get(url(tenant_a), {"export": "csv"}).status_code == 403


def test_sorting_by_movement_groups_who_moved_down_first(tenant_a, scored):
    """Moved down, moved up, new, unchanged (it sorted by the previous segment's code: "core" first,
    scattering the moves among the unchanged); the rep's and the manager's lists alike."""
    with scopes_disabled():
        up = f.CustomerFactory(distributor=tenant_a.distributor, rep=tenant_a.rep, customer_id="alpha-U1")
        make_run(
            tenant_a.distributor,
            {
                scored["dropped"]: {"segment": "marginal", "previous_segment": "core", "revenue": 1.0},
                up: {"segment": "core", "previous_segment": "marginal", "revenue": 2.0},
                scored["south"]: {"segment": "opportunistic", "previous_segment": "", "revenue": 3.0},
                scored["formula"]: {"segment": "core", "previous_segment": "core", "revenue": 4.0},
                tenant_a.assigned_customer: {"segment": "core", "previous_segment": "core", "revenue": 5.0},
            },
        )
    for user in (tenant_a.rep_user, tenant_a.manager):
        rows = login(user).get(url(tenant_a), {"sort": "movement"}).context["table"].page.object_list
        moves = [movement_of(row.record.segment, row.record.previous_segment) for row in rows]
        ranked = [m for m in moves if m]
        assert ranked == sorted(ranked, key=["down", "up", "new", "same"].index), (user, moves)
        assert ranked[:3] == ["down", "up", "new"], moves


def test_a_customer_the_run_does_not_rank_says_so_on_the_page_and_in_the_export(tenant_a, scored):
    """The export left its Segment blank (292 on the dashboard, 300 rows): it says why it has none."""
    with scopes_disabled():
        f.CustomerFactory(distributor=tenant_a.distributor, rep=tenant_a.rep, customer_id="alpha-NEW")
    client = login(tenant_a.manager)
    page = client.get(url(tenant_a), {"q": "alpha-NEW"}).content.decode()
    assert "Not in the run" in page
    export = client.get(url(tenant_a), {"export": "csv", "q": "alpha-NEW"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    segment = rows[0].index("Segment")
    assert rows[1][0] == "alpha-NEW" and rows[1][segment] == "Not in the run"
    assert rows[1][rows[0].index("Previous segment")] == ""
