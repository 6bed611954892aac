"""Issue 16, item 6: the profit centers page sliced by the customers' branch, class, region or rep:
every dimension's values computed for the slice's customers exactly as the profit-centers job does
for all (segments.selectors.profit_centers_of_customers), checked against the naive reference
(tests/segments/profit_reference.py) on the slice's lines; the slices add up to the whole; an unknown
slice is a 400 naming what is allowed; data changed since the run is said, not shown as the run's."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from channels.vocabulary import ship_method_label
from sales.models import Customer, Product
from segments import services
from stratify.jobs.services import job_execute
from tests.pages.conftest import login
from tests.segments import profit_reference as ref
from tests.segments.helpers import run_profit_centers, simple_lines, write_lines
from tests.segments.test_profit_centers import _catalog, reference_lines, segments_of

pytestmark = pytest.mark.django_db


def table(response):
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}


@pytest.fixture
def published(tenant_a):
    distributor = tenant_a.distributor
    customers, products, _reps, _partner = _catalog(distributor)
    write_lines(distributor, simple_lines(customers, products))
    with scope(distributor=distributor):
        run = services.run_request(distributor=distributor, dispatch=False, publish=True)
    job_execute(run.job_id)
    run_profit_centers(run)
    with scopes_disabled():
        run.refresh_from_db()
    return tenant_a, run


def test_sliced_profit_centers_agree_with_the_reference_and_add_up(published):
    tenant, run = published
    client = login(tenant.manager)
    url = reverse("profit-centers", kwargs={"tenant": tenant.slug})
    lines, segments = reference_lines(tenant.distributor), segments_of(run)
    with scopes_disabled():
        region = dict(Customer.objects.filter(distributor=tenant.distributor).values_list("customer_id", "region"))
    whole = table(client.get(url, {"dimension": "category", "export": "csv"}))
    added: dict[str, Decimal] = {}
    for value in ("West", "East", "(none)"):
        for dimension in ("category", "ship_method", "customer_class"):
            response = client.get(url, {"dimension": dimension, "slice_by": "region", "slice": value, "export": "csv"})
            assert response.status_code == 200
            got = table(response)
            mine = [x for x in lines if (region[x["customer_id"]] or "(none)") == value]
            want = ref.figures(mine, segments, dimension, run.as_of)
            if dimension == "ship_method":  # the page's export names the methods DATA_FORMAT.md names
                want = {ship_method_label(k): w for k, w in want.items()}
            assert set(got) == set(want), (value, dimension)
            for name, w in want.items():
                row = got[name]
                assert (int(row["Customers"]), int(row["Lines"])) == (w["customers"], w["lines"])
                assert Decimal(row["Revenue (USD)"]) == ref.cents(w["revenue"])
                assert Decimal(row["Net profit (USD)"]) == ref.cents(w["net_profit"]), (value, dimension, name)
                if dimension == "category":
                    added[name] = added.get(name, Decimal(0)) + Decimal(row["Net profit (USD)"])
    for name, row in whole.items():
        # Each slice is rounded to the cent on its own: the three add up within a cent and a half.
        assert abs(added[name] - Decimal(row["Net profit (USD)"])) <= Decimal("0.015"), name


def test_sliced_profit_centers_bad_input_and_changed_data(published):
    tenant, run = published
    client = login(tenant.manager)
    url = reverse("profit-centers", kwargs={"tenant": tenant.slug})
    unknown = client.get(url, {"dimension": "region", "slice_by": "region", "slice": "Mars"})
    assert unknown.status_code == 400 and "East" in unknown.content.decode()
    with scopes_disabled():
        customers = list(Customer.objects.filter(distributor=tenant.distributor))
    with scopes_disabled():
        products = list(Product.objects.filter(distributor=tenant.distributor))
    # New lines dated after the run's as-of date (what an import does): the run's stamp no longer matches.
    write_lines(tenant.distributor, simple_lines(customers[:3], products, as_of=run.as_of + timedelta(days=3)))
    page = client.get(url, {"dimension": "brand", "slice_by": "region", "slice": "West"})
    assert page.status_code == 200 and "data changed since" in page.content.decode()


def test_a_slices_total_is_the_same_to_the_cent_whatever_dimension_cuts_it(published):
    """The page's "leaving $X of net profit" for a slice is the slice's exact net profit rounded once:
    the same on every dimension (it was the sum of each value's rounded cents, a few cents apart from
    one dimension to the next), and the reference's for the slice's lines."""
    from insights.benchframe import run_frame
    from insights.profit import report, sliced_rows

    tenant, run = published
    lines, segments = reference_lines(tenant.distributor), segments_of(run)
    with scopes_disabled():
        region = dict(Customer.objects.filter(distributor=tenant.distributor).values_list("customer_id", "region"))
        frame = run_frame(tenant.distributor, run)
    mine = [x for x in lines if region[x["customer_id"]] == "West"]
    exact = sum(w["net_profit"] for w in ref.figures(mine, segments, "category", run.as_of).values())
    west = frame[frame["region"] == "West"]
    totals = set()
    for dimension in ("category", "product", "brand", "ship_method", "customer_class", "segment"):
        with scopes_disabled():
            rows = sliced_rows(distributor=tenant.distributor, run=run, frame=west, dimension=dimension)
            totals.add(report(distributor=tenant.distributor, run=run, dimension=dimension, rows=rows)["total"])
    assert totals == {ref.cents(exact)}, totals


def test_codes_with_names_read_with_their_names(published):
    """A rep or supplier (and a partner, named the same way) is its code with its name ("R0 · Ann
    Lee"), a supply-chain role its label ("End user"): on the page's table, in its export and in the
    sentences; the links still carry the code."""
    from channels.models import Partner
    from sales.models import Rep

    tenant, run = published
    with scopes_disabled():
        Rep.objects.filter(distributor=tenant.distributor, rep_id="R0").update(name="Ann Lee")
        Partner.objects.create(distributor=tenant.distributor, partner_id="S1", name="Delta Supply Co")
    client = login(tenant.manager)
    url = reverse("profit-centers", kwargs={"tenant": tenant.slug})
    for dimension, code, label in (
        ("rep", "R0", "R0 · Ann Lee"), ("assigned_rep", "R0", "R0 · Ann Lee"),
        ("supplier", "S1", "S1 · Delta Supply Co"),  # a supplier is named in the partners file
        ("supply_chain_role", "end_user", "End user"),
    ):  # fmt: skip
        page = client.get(url, {"dimension": dimension})
        html = page.content.decode()
        body = html.split('id="profit-centers-table"', 1)[1]
        assert f">{label}</a>" in body and f"value={code}" in body, (dimension, label)
        exported = table(client.get(url, {"dimension": dimension, "export": "csv"}))
        assert label in exported and code not in exported, (dimension, list(exported))
        words = " ".join(page.context["report"]["words"])
        assert code not in words.replace(label, ""), (dimension, words)
