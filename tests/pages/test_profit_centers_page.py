"""The Profit centers page (managers): table by dimension with figures in the tenant's currency,
exports to the cent, whale curve and words, heat maps, drill-down to the customers of a value, the
dashboard's card; bad input (400 naming the dimensions) and the page before any published run."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from segments import services
from segments.models import ProfitCenter
from stratify.jobs.services import job_execute
from tests.segments.helpers import make_catalog, run_profit_centers, simple_lines, write_lines

from .conftest import login

pytestmark = pytest.mark.django_db


def url(tenant, name="profit-centers"):
    return reverse(name, kwargs={"tenant": tenant.slug})


@pytest.fixture
def published(tenant_a):
    d = tenant_a.distributor
    customers, products = make_catalog(d)
    with scopes_disabled():
        for i, c in enumerate(customers):
            c.branch = ["Dallas", "Tulsa", ""][i % 3]
            c.rep = tenant_a.rep if i % 2 else tenant_a.other_rep
            c.save()
    rows = simple_lines(customers, products)
    for i, row in enumerate(rows):
        row["branch"] = ["Dallas", "Tulsa"][i % 2]
    write_lines(d, rows)
    with scope(distributor=d):
        run = services.run_request(distributor=d, dispatch=False, publish=True)
    job_execute(run.job_id)
    run_profit_centers(run)
    with scopes_disabled():
        run.refresh_from_db()
    assert run.status == "succeeded"
    return tenant_a, run


def test_page_shows_every_value_with_currency_words_curve_and_heat_maps(published):
    tenant, run = published
    response = login(tenant.manager).get(url(tenant) + "?dimension=branch")
    assert response.status_code == 200
    html = response.content.decode()
    with scopes_disabled():
        rows = list(ProfitCenter.objects.filter(run=run, dimension="branch", by=""))
    assert {r.value for r in rows} == {"Dallas", "Tulsa"}
    for r in rows:
        assert f"${abs(r.net_profit):,.2f}" in html  # currency on every figure, to the cent
    assert 'id="profit-words"' in html and "Branch Dallas" in html
    assert 'id="profit-whale-chart"' in html and 'id="profit-whale-data"' in html
    assert "the drains give away" in html
    assert 'id="profit-matrix"' in html and 'id="branch-category-matrix"' not in html  # branch itself
    category = login(tenant.manager).get(url(tenant)).content.decode()
    assert 'id="branch-category-matrix"' in category and "Category" in category
    # Sortable (django-tables2) and filterable.
    assert login(tenant.manager).get(url(tenant) + "?dimension=branch&sort=-net_profit").status_code == 200
    filtered = login(tenant.manager).get(url(tenant) + "?dimension=branch&q=tul").content.decode()
    table = filtered[
        filtered.index('id="profit-centers-table"') : filtered.index(
            "</table>", filtered.index('id="profit-centers-table"')
        )
    ]
    assert ">Tulsa<" in table and ">Dallas<" not in table


def test_exports_write_money_to_the_cent(published):
    tenant, run = published
    response = login(tenant.manager).get(url(tenant) + "?dimension=category&export=csv")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = table[0], table[1:]
    assert header[0] == "Value" and "Net profit (USD)" in header
    with scopes_disabled():
        stored = {r.value or "(none)": r for r in ProfitCenter.objects.filter(run=run, dimension="category", by="")}
    assert {row[0] for row in body} == set(stored)
    column = header.index("Net profit (USD)")
    for row in body:
        assert Decimal(row[column]) == stored[row[0]].net_profit
        assert len(row[column].split(".")[1]) == 2
    xlsx = login(tenant.manager).get(url(tenant) + "?dimension=category&export=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_each_value_drills_down_to_its_customers(published):
    tenant, run = published
    html = login(tenant.manager).get(url(tenant) + "?dimension=customer_branch").content.decode()
    assert "dimension=customer_branch&amp;value=Dallas" in html
    page = login(tenant.manager).get(
        reverse("my-customers", kwargs={"tenant": tenant.slug}) + "?dimension=customer_branch&value=Dallas"
    )
    assert page.status_code == 200
    with scopes_disabled():
        dallas = ProfitCenter.objects.get(run=run, dimension="customer_branch", by="", value="Dallas")
    assert f"{dallas.customers} customer" in page.content.decode()
    none = login(tenant.manager).get(
        reverse("my-customers", kwargs={"tenant": tenant.slug}) + "?dimension=branch&value=Tulsa"
    )
    with scopes_disabled():
        tulsa = ProfitCenter.objects.get(run=run, dimension="branch", by="", value="Tulsa")
    assert f"{tulsa.customers} customer" in none.content.decode()


def test_unknown_dimension_is_a_400_naming_the_allowed_ones(published):
    tenant, _run = published
    response = login(tenant.manager).get(url(tenant) + "?dimension=colour")
    assert response.status_code == 400
    text = response.content.decode()
    assert "colour" in text and "customer_class" in text and "ship_method" in text


def test_without_a_published_run_the_page_says_so(tenant_a):
    response = login(tenant_a.manager).get(url(tenant_a))
    assert response.status_code == 200 and "No published run yet" in response.content.decode()


def test_reps_and_customers_are_refused_and_other_tenants_404(published, tenant_b):
    tenant, _run = published
    assert login(tenant.rep_user).get(url(tenant)).status_code == 403
    assert login(tenant.customer_user).get(url(tenant)).status_code == 403
    assert login(tenant_b.manager).get(url(tenant)).status_code == 404


def test_dashboard_links_and_shows_three_centers_and_drains(published):
    tenant, run = published
    html = login(tenant.manager).get(url(tenant, "dashboard")).content.decode()
    assert 'id="profit-centers-link"' in html and "dimension=category" in html
    assert "by category" in html
    with scopes_disabled():
        best = ProfitCenter.objects.filter(run=run, dimension="category", by="", net_profit__gt=0).order_by("position")
    top = list(best[:3])
    assert top and all((r.value or "(none)") in html for r in top)
    branch = login(tenant.manager).get(url(tenant, "dashboard") + "?profit_by=branch").content.decode()
    assert "by branch" in branch and "dimension=branch" in branch


@pytest.fixture
def named(tenant_a):
    """Products with names and suppliers (two named partners, one not), reps with names."""
    from channels.models import Partner

    d = tenant_a.distributor
    customers, products = make_catalog(d)
    with scopes_disabled():
        for i, p in enumerate(products):
            p.name = f"Copper elbow {i}" if i % 3 else ""
            p.supplier_id = ["SUP012", "SUP004", "SUP099"][i % 3]
            p.save()
        Partner.objects.create(distributor=d, partner_id="SUP012", name="Lumen Tech", kind="supplier")
        Partner.objects.create(distributor=d, partner_id="SUP004", name="Delta Supply Co", kind="supplier")
        tenant_a.rep.name, tenant_a.other_rep.name = "Maria Rossi", "Tom Nguyen"
        tenant_a.rep.save()
        tenant_a.other_rep.save()
        for i, c in enumerate(customers):
            c.rep = tenant_a.rep if i % 2 else tenant_a.other_rep
            c.save()
    write_lines(d, simple_lines(customers, products))
    with scope(distributor=d):
        run = services.run_request(distributor=d, dispatch=False, publish=True)
    job_execute(run.job_id)
    run_profit_centers(run)
    return tenant_a, products


def shown_values(tenant, **query) -> list[str]:
    import re

    html = login(tenant.manager).get(url(tenant), query).content.decode()
    table = html[html.index('id="profit-centers-table"') :]
    table = table[: table.index("</table>")]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<tr><td >(.*?)</td>", table)]


def test_search_finds_values_by_the_name_they_are_shown_with(named):
    """`?q=` matches what the row shows, the name as well as the code: "Lumen" finds SUP012 · Lumen
    Tech (it matched raw codes only and found nothing), a rep by name, a product by name."""
    tenant, _products = named
    assert shown_values(tenant, dimension="supplier", q="Lumen") == ["SUP012 · Lumen Tech"]
    assert shown_values(tenant, dimension="supplier", q="lumen tech") == ["SUP012 · Lumen Tech"]
    assert (
        shown_values(tenant, dimension="supplier", q="SUP0")
        and len(shown_values(tenant, dimension="supplier", q="SUP0")) == 3
    )
    assert shown_values(tenant, dimension="rep", q="rossi") == [f"{tenant.rep.rep_id} · Maria Rossi"]
    assert shown_values(tenant, dimension="assigned_rep", q="Nguyen") == [f"{tenant.other_rep.rep_id} · Tom Nguyen"]
    found = shown_values(tenant, dimension="product", q="elbow 4")
    assert found == ["P04 · Copper elbow 4"]
    assert shown_values(tenant, dimension="supplier", q="nothing like it") == []


def test_products_read_with_their_names_like_suppliers_and_reps(named):
    """By product the table, its export and the words show "SKU · name" where the product has one."""
    tenant, products = named
    values = shown_values(tenant, dimension="product")
    want = {p.product_id: (f"{p.product_id} · {p.name}" if p.name else p.product_id) for p in products}
    assert set(values) == set(want.values())
    export = login(tenant.manager).get(url(tenant), {"dimension": "product", "export": "csv"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert {r[0] for r in rows[1:]} == set(want.values())


def test_export_file_names_read_in_words_not_codes(published):
    """A dimension's code in the file name reads with hyphens: "-ship-method.csv", not "-ship_method"."""
    tenant, _run = published
    for dimension in ("ship_method", "customer_class", "assigned_rep"):
        response = login(tenant.manager).get(url(tenant), {"dimension": dimension, "export": "csv"})
        disposition = response["Content-Disposition"]
        assert (
            f"profit-centers-{dimension.replace('_', '-')}" in disposition
            and "_" not in disposition.split("filename")[-1]
        )


def test_counts_are_grouped_as_the_tenants_locale_groups(tenant_a):
    """A German manager reads 1,640 as 1.64: counts follow the locale the money follows."""
    from insights.profit import ProfitCenterTable

    with scopes_disabled():
        tenant_a.distributor.currency, tenant_a.distributor.locale = "EUR", "de_DE"
    table = ProfitCenterTable([], tenant_slug=tenant_a.slug, dimension="branch")
    table.distributor = tenant_a.distributor
    assert table.render_customers(12345, None) == "12.345" and table.render_lines(1640, None) == "1.640"


def test_the_empty_value_is_not_called_out_as_a_center_or_drain(published):
    """ "Partner (none) earns 39% of net profit": the lines without a partner are no profit center. The
    empty value stays in the table (PROFIT_CENTERS.md), but not in the words."""
    from insights import profit
    from segments.models import ProfitCenter

    tenant, run = published
    with scopes_disabled():
        dimensions = set(
            ProfitCenter.objects.filter(distributor=tenant.distributor, run=run, by="", value="")
            .exclude(net_profit=0)
            .values_list("dimension", flat=True)
        )
    assert dimensions  # some dimension has an empty value that earns or loses money
    with scope(distributor=tenant.distributor):
        for dimension in dimensions:
            words = profit.report(distributor=tenant.distributor, run=run, dimension=dimension)["words"]
            assert not any("(none)" in w for w in words), (dimension, words)


def test_the_segment_dimension_offers_no_split_by_segment(published):
    """By segment, a split by segment is a diagonal (every other cell zero): neither the heat map nor
    the per-segment columns are offered there; other dimensions keep them."""
    tenant, _run = published
    client = login(tenant.manager)
    by_segment = client.get(url(tenant) + "?dimension=segment")
    assert by_segment.status_code == 200
    html = by_segment.content.decode()
    assert 'id="profit-matrix"' not in html and "Net profit: Core" not in html
    branch = client.get(url(tenant) + "?dimension=branch").content.decode()
    assert 'id="profit-matrix"' in branch and "Net profit: Core" in branch
