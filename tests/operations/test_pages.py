"""The operations pages: each says what it is for, shows the published run's figures (the same as the
selectors), exports them, answers bad input with a 400 naming the allowed values, and tells a tenant
without inventory what importing it would add."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from insights.operations import INVENTORY_PITCH, PAGES
from operations import selectors as ops
from operations.models import CutScenario, OperationsSettings
from sales.models import Customer, Inventory
from segments.models import TierPolicy
from stratify.formatting import format_money
from tests.pages.conftest import login

pytestmark = pytest.mark.django_db


def page(t, name, query=""):
    return reverse(name, kwargs={"tenant": t.slug}) + query


@pytest.mark.parametrize("key", list(PAGES))
def test_every_page_says_what_it_is_for(data, key):
    response = login(data.tenant.manager).get(page(data.tenant, PAGES[key].url_name))
    assert response.status_code == 200
    html = response.content.decode()
    assert PAGES[key].purpose in html.replace("&#x27;", "'")
    assert 'id="nav-operations"' in html


def test_no_inventory_says_what_importing_would_add(data):
    with scopes_disabled():
        Inventory.objects.filter(distributor=data.tenant.distributor).delete()
    html = login(data.tenant.manager).get(page(data.tenant, "ops-scarce-stock")).content.decode()
    assert 'id="inventory-pitch"' in html and INVENTORY_PITCH.split(":")[0].split(".")[0] in html


def test_the_inventory_note_shows_only_where_the_page_reads_inventory(data):
    with scopes_disabled():
        Inventory.objects.filter(distributor=data.tenant.distributor).delete()
    client = login(data.tenant.manager)
    for key, info in PAGES.items():
        html = client.get(page(data.tenant, info.url_name)).content.decode()
        assert ('id="inventory-pitch"' in html) == (key in ("demand", "scarce")), key


def test_a_bad_threshold_is_named_as_the_form_labels_it(data):
    t = data.tenant
    client = login(t.manager)
    response = client.post(
        page(t, "ops-stock"), {"default_lead_time_days": "-1", "stock_min_orders": "abc"}, follow=True
    )
    html = response.content.decode().replace("&#x27;", "'")
    assert "Lead time of a product whose inventory row gives none (days): A whole number from 0 to 365." in html
    assert "default_lead_time_days:" not in html and "stock_min_orders:" not in html
    assert 'name="stock_min_orders" id="id_stock_min_orders" value="3"' in html  # unchanged
    assert 'min="1" max="1000" step="1" required name="stock_min_orders"' in html


def test_before_a_published_run(tenant_a):
    html = login(tenant_a.manager).get(page(tenant_a, "ops-core-demand")).content.decode()
    assert 'id="no-run"' in html


def test_core_demand_page_and_export(data):
    client = login(data.tenant.manager)
    with scopes_disabled():
        rows = ops.core_demand(distributor=data.tenant.distributor, run=data.run, dimension="category")
    response = client.get(page(data.tenant, "ops-core-demand", "?dimension=category&export=csv"))
    assert response.status_code == 200
    exported = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert exported[0][0] == "Category" and "Name" not in exported[0] and "Revenue (USD)" in exported[0]
    assert "Lead time (days)" not in exported[0]  # a product's figure
    assert response["Content-Disposition"].endswith('operations-demand-category.csv"')
    by_branch = client.get(page(data.tenant, "ops-core-demand", "?dimension=product&branch=East&export=csv"))
    assert by_branch["Content-Disposition"].endswith('operations-demand-product-east.csv"')
    header = next(csv.reader(io.StringIO(by_branch.content.decode("utf-8-sig"))))
    assert header[:2] == ["Product", "Name"] and "Lead time (days)" in header
    assert {r[0] for r in exported[1:]} == {r["value"] for r in rows}
    by_value = {r[0]: r for r in exported[1:]}
    i = exported[0].index("Core revenue (USD)")
    for r in rows:
        assert by_value[r["value"]][i] == f"{r['core_revenue']:.2f}"
    bad = client.get(page(data.tenant, "ops-core-demand", "?dimension=colour"))
    assert bad.status_code == 400 and "product, category, brand, supplier" in bad.content.decode()
    sorted_page = client.get(page(data.tenant, "ops-core-demand", "?dimension=category&sort=-core_share"))
    assert sorted_page.status_code == 200


def test_scarce_allocation_export_serves_core_first(data):
    response = login(data.tenant.manager).get(page(data.tenant, "ops-scarce-stock", "?view=allocation&export=csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[0]
    seg = header.index("Segment")
    first = {}
    for r in rows[1:]:
        first.setdefault((r[0], r[1]), r[seg])
    assert first and all(s == "Core" for s in first.values())


def test_cut_page_save_compare_delete(data):
    t = data.tenant
    client = login(t.manager)
    html = client.get(page(t, "ops-cut-impact", "?supplier=S1")).content.decode()
    with scopes_disabled():
        impact = ops.cut_impact(distributor=t.distributor, run=data.run, choice=ops.CutChoice(supplier=["S1"]))
    assert html.count('<option value="S1" selected>') == 1 and html.count('<option value="Acme">') == 1
    assert '<p class="print-only mb-0" id="cut-choice-print">Suppliers: S1. </p>' in html  # the printout says what
    assert f'id="cut-core-count">{len(impact["core_customers"])}<' in html
    assert f'id="cut-total-net">{format_money(impact["total"]["net_profit"], t.distributor, decimals=2)}<' in html
    for customer_id in impact["core_customers"]:
        assert customer_id in html
    response = client.post(page(t, "ops-cut-impact"), {"name": "No S1", "supplier": ["S1"]})
    assert response.status_code == 302
    client.post(page(t, "ops-cut-impact"), {"name": "No Bolt", "brand": ["Bolt"]})
    with scopes_disabled():
        a, b = (CutScenario.objects.get(name=n).pk for n in ("No S1", "No Bolt"))
    html = client.get(page(t, "ops-cut-impact", f"?first={a}&second={b}")).content.decode()
    assert 'id="comparison"' in html and "No S1 vs No Bolt" in html
    with scopes_disabled():
        both = ops.compare_scenarios(
            distributor=t.distributor,
            run=data.run,
            first=CutScenario.objects.get(pk=a),
            second=CutScenario.objects.get(pk=b),
        )
        names = dict(Customer.objects.filter(distributor=t.distributor).values_list("customer_id", "name"))
    assert both["both"]  # the core customers both cuts hit, by their names as well
    assert all(f"{c} · {names[c]}" in html for c in both["both"]), both["both"]
    assert "All customers' net profit at risk" in html.replace("&#x27;", "'")
    bad = client.get(page(t, "ops-cut-impact", "?supplier=NOPE&product=P01,ZZ"))
    assert bad.status_code == 400 and "NOPE" in bad.content.decode() and "ZZ" in bad.content.decode()
    client.post(page(t, "ops-cut-impact"), {"delete": a})
    with scopes_disabled():
        assert list(CutScenario.objects.values_list("name", flat=True)) == ["No Bolt"]


def test_thresholds_and_consolidation_from_the_pages(data):
    t = data.tenant
    client = login(t.manager)
    client.post(page(t, "ops-stock"), {"stock_min_orders": "1", "drop_max_lines": "0"})
    with scopes_disabled():
        assert OperationsSettings.objects.get(distributor=t.distributor).stock_min_orders == 1
    html = client.get(page(t, "ops-stock", "?list=to_stock")).content.decode()
    # The rule in words, as the page applies it: orders counted over the core customers together.
    assert "in at least 1 order from core customers together" in html
    html = client.get(page(t, "ops-deliveries")).content.decode()
    assert 'id="consolidate"' in html
    first = client.post(page(t, "ops-deliveries"), follow=True).content.decode().replace("&#x27;", "'")
    assert "Added to the Marginal tier policy's playbook" in first
    with scopes_disabled():
        playbook = TierPolicy.objects.get(distributor=t.distributor, segment="marginal").playbook
    assert "Deliveries: consolidate to at most 1 a week" in playbook
    again = client.post(page(t, "ops-deliveries"), follow=True).content.decode().replace("&#x27;", "'")
    assert "The Marginal tier policy's playbook already says it" in again and "Added to" not in again
    with scopes_disabled():
        assert TierPolicy.objects.get(distributor=t.distributor, segment="marginal").playbook == playbook


def test_sorting_and_filters_of_a_list_page(data):
    client = login(data.tenant.manager)
    with scopes_disabled():
        rows = ops.core_demand(distributor=data.tenant.distributor, run=data.run, dimension="product", branch="West")
    best = max(rows, key=lambda r: (r["core_revenue"], r["value"]))
    html = client.get(page(data.tenant, "ops-core-demand", "?branch=West&sort=-core_revenue")).content.decode()
    body = html.split('id="core-demand-table"', 1)[1].split("<tbody>", 1)[1]
    assert body.split("<td", 2)[1].split(">", 1)[1].startswith(best["value"])
    response = client.get(page(data.tenant, "ops-core-demand", "?branch=West&q=P0&export=csv"))
    exported = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r[0] for r in exported[1:]} == {r["value"] for r in rows if "P0" in r["value"]}
    allocation = client.get(page(data.tenant, "ops-scarce-stock", "?view=allocation&segment=core&export=csv"))
    segments = {r[5] for r in list(csv.reader(io.StringIO(allocation.content.decode("utf-8-sig"))))[1:]}
    assert segments == {"Core"}


def test_sorting_by_segment_follows_the_serving_order(data):
    """The allocation serves core, opportunistic, service drain, marginal: sorting by segment keeps
    that order (it sorted alphabetically: Core, Marginal, Opportunistic, Service drain)."""
    client = login(data.tenant.manager)
    response = client.get(page(data.tenant, "ops-marketing", "?sort=segment&export=csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    column = rows[0].index("Segment")
    shown = [r[column] for r in rows[1:]]
    order = ["Core", "Opportunistic", "Service drain", "Marginal"]
    assert len(set(shown)) >= 2 and shown == sorted(shown, key=order.index)


@pytest.mark.parametrize(
    "name, query, allowed",
    [
        ("ops-scarce-stock", "?view=bogus", "products or allocation"),
        ("ops-stock", "?list=bogus", "to_stock or to_drop"),
    ],
)
def test_an_unknown_view_or_list_is_a_400_naming_the_allowed_ones(data, name, query, allowed):
    """An old bookmark or a typo: the page says which values exist (it was a 500)."""
    for suffix in ("", "&export=csv"):
        response = login(data.tenant.manager).get(page(data.tenant, name, query + suffix))
        assert response.status_code == 400 and allowed in response.content.decode()


def test_an_export_keeps_the_table_s_sort(data):
    """The Export link carries `?sort=`: the file lists the rows in the order the page shows them."""
    client = login(data.tenant.manager)
    for sort, reverse_order in (("core_revenue", False), ("-core_revenue", True)):
        response = client.get(page(data.tenant, "ops-core-demand", f"?dimension=category&sort={sort}&export=csv"))
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        i = rows[0].index("Core revenue (USD)")
        values = [float(r[i]) for r in rows[1:]]
        assert len(values) > 2 and values == sorted(values, reverse=reverse_order), sort
