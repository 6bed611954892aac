"""Issue 16, item 2: leakage among core customers against a naive computation on hand-made lines;
drill-down, exports, bad input; managers only."""

import csv
import io
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse

from tests.conftest import api_as
from tests.pages.conftest import login

from .data import BOOK, PRODUCTS, SHORT, add_lines, build

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def cents(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def naive(lines, dimension):
    """Per value: buyers, three windows' revenue, stopped, cut, leaked: a loop over the lines."""
    index = {"category": 1, "brand": 2, "supplier": 3}[dimension]
    value_of = {sku: (p[index] or "(none)") for sku, *_ in PRODUCTS for p in [next(q for q in PRODUCTS if q[0] == sku)]}
    core = {a for a, v in BOOK.items() if v[1] == "core"}
    w = timedelta(days=180)
    start = AS_OF - timedelta(days=179)
    spans = {
        "now": (start, AS_OF),
        "prior": (start - w, AS_OF - w),
        "year": (start - timedelta(days=365), AS_OF - timedelta(days=365)),
    }
    sums = {}
    for account, sku, day, revenue in lines:
        if account not in core:
            continue
        for name, (a, b) in spans.items():
            if a <= day <= b:
                key = (value_of[sku], account)
                sums.setdefault(key, {"now": Decimal(0), "prior": Decimal(0), "year": Decimal(0)})
                sums[key][name] += revenue
    out = {}
    for (value, _account), s in sums.items():
        row = out.setdefault(
            value,
            {
                "buyers": 0,
                "revenue": Decimal(0),
                "prior": Decimal(0),
                "year": Decimal(0),
                "stopped": 0,
                "cut": 0,
                "leaked": Decimal(0),
            },
        )
        row["buyers"] += s["now"] > 0
        row["revenue"] += s["now"]
        row["prior"] += s["prior"]
        row["year"] += s["year"]
        row["stopped"] += s["prior"] > 0 and s["now"] <= 0
        row["cut"] += 0 < s["now"] < s["prior"]
        row["leaked"] += max(Decimal(0), s["prior"] - s["now"])
    return out, len(core)


@pytest.mark.parametrize("dimension", ["category", "brand", "supplier"])
def test_leakage_matches_a_naive_computation(tenant_a, dimension):
    _run, customers, _ = build(tenant_a, settings=SHORT)
    lines = add_lines(tenant_a, customers)
    expected, core = naive(lines, dimension)
    body = (
        api_as(tenant_a.manager)
        .get(reverse("api-leakage", kwargs={"tenant": tenant_a.slug}), {"dimension": dimension})
        .json()
    )
    assert body["core_customers"] == core
    got = {r["value"]: r for r in body["rows"]}
    assert set(got) == set(expected)
    for value, want in expected.items():
        row = got[value]
        assert row["buyers"] == want["buyers"]
        assert row["buyer_share"] == pytest.approx(want["buyers"] / core)
        assert row["revenue"] == cents(want["revenue"])
        assert row["prior_revenue"] == cents(want["prior"])
        assert row["year_ago_revenue"] == cents(want["year"])
        assert (row["stopped"], row["cut"]) == (want["stopped"], want["cut"])
        assert row["leaked"] == cents(want["leaked"])
    leaked = [Decimal(r["leaked"]) for r in body["rows"]]
    assert leaked == sorted(leaked, reverse=True)


def test_leakage_drill_down_and_exports(tenant_a):
    _run, customers, _ = build(tenant_a, settings=SHORT)
    lines = add_lines(tenant_a, customers)
    expected, _core = naive(lines, "category")
    client = login(tenant_a.manager)
    page = client.get(reverse("leakage", kwargs={"tenant": tenant_a.slug}))
    assert page.status_code == 200 and "leakage-table" in page.content.decode()
    for column in ("change_vs_prior", "-change_vs_year_ago", "buyers", "-leaked", "value"):
        assert client.get(reverse("leakage", kwargs={"tenant": tenant_a.slug}), {"sort": column}).status_code == 200
    export = client.get(reverse("leakage", kwargs={"tenant": tenant_a.slug}), {"dimension": "brand", "export": "csv"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Brand" and len(rows) - 1 == len(naive(lines, "brand")[0])
    drill = client.get(
        reverse("leakage-customers", kwargs={"tenant": tenant_a.slug}), {"dimension": "category", "value": "Pipe"}
    )
    html = drill.content.decode()
    assert drill.status_code == 200
    assert "alpha-K3" not in html  # not core
    body = (
        api_as(tenant_a.manager)
        .get(reverse("api-leakage", kwargs={"tenant": tenant_a.slug}), {"dimension": "category", "value": "Pipe"})
        .json()
    )
    total_drop = sum(Decimal(c["drop"]) for c in body["customers"])
    assert abs(total_drop - expected["Pipe"]["leaked"]) <= Decimal("0.01") * len(body["customers"])
    drops = [Decimal(c["drop"]) for c in body["customers"]]
    assert drops == sorted(drops, reverse=True)
    csv_drill = client.get(
        reverse("leakage-customers", kwargs={"tenant": tenant_a.slug}),
        {"dimension": "category", "value": "Pipe", "export": "xlsx"},
    )
    assert csv_drill.status_code == 200


def test_leakage_bad_input_and_roles(tenant_a):
    build(tenant_a, settings=SHORT)
    bad = login(tenant_a.manager).get(reverse("leakage", kwargs={"tenant": tenant_a.slug}), {"dimension": "colour"})
    assert bad.status_code == 400 and "category, brand, supplier" in bad.content.decode()
    api = api_as(tenant_a.manager).get(
        reverse("api-leakage", kwargs={"tenant": tenant_a.slug}), {"dimension": "colour"}
    )
    assert api.status_code == 400 and "category, brand, supplier" in api.json()["detail"]
    assert api_as(tenant_a.rep_user).get(reverse("api-leakage", kwargs={"tenant": tenant_a.slug})).status_code == 403
    assert login(tenant_a.rep_user).get(reverse("leakage", kwargs={"tenant": tenant_a.slug})).status_code == 403


def test_leakage_by_supplier_reads_the_partner_name_as_the_map_does(tenant_a):
    """By supplier the rows, the export and the drill-down's heading show "SUP1 · Acme Supply" (they
    showed the bare code, and the drill-down was headed "Supplier SUP1"); the API keeps the codes."""
    from django_scopes import scopes_disabled

    from channels.models import Partner

    _run, customers, _ = build(tenant_a, settings=SHORT)
    add_lines(tenant_a, customers)
    with scopes_disabled():
        Partner.objects.create(distributor=tenant_a.distributor, partner_id="SUP1", name="Acme Supply", kind="supplier")
    client = login(tenant_a.manager)
    url = reverse("leakage", kwargs={"tenant": tenant_a.slug})
    html = client.get(url, {"dimension": "supplier"}).content.decode()
    assert "SUP1 · Acme Supply</a>" in html and ">SUP2</a>" in html  # SUP2 is no partner: its code
    rows = list(
        csv.reader(io.StringIO(client.get(url, {"dimension": "supplier", "export": "csv"}).content.decode("utf-8-sig")))
    )
    assert "SUP1 · Acme Supply" in [r[0] for r in rows[1:]]
    drill = client.get(
        reverse("leakage-customers", kwargs={"tenant": tenant_a.slug}), {"dimension": "supplier", "value": "SUP1"}
    ).content.decode()
    assert "Supplier SUP1 · Acme Supply: core customers" in drill
    api = api_as(tenant_a.manager).get(
        reverse("api-leakage", kwargs={"tenant": tenant_a.slug}), {"dimension": "supplier"}
    )
    assert "SUP1" in {r["value"] for r in api.json()["rows"]}


def test_a_year_earlier_is_shown_once_when_it_is_the_prior_window(tenant_a):
    """With a 365-day window the prior window is the year before: the page, the drill-down and their
    exports show that period once, as the prior window, and the page says why (they showed two equal
    columns); a shorter window keeps both."""
    _run, customers, _ = build(tenant_a)  # window_days 365
    add_lines(tenant_a, customers)
    client = login(tenant_a.manager)
    url = reverse("leakage", kwargs={"tenant": tenant_a.slug})
    html = client.get(url).content.decode()
    assert "Prior window" in html and "A year earlier" not in html and "vs a year earlier" not in html
    assert 'id="year-ago-merged"' in html
    header = next(csv.reader(io.StringIO(client.get(url, {"export": "csv"}).content.decode("utf-8-sig"))))
    assert any(h.startswith("Prior window") for h in header)
    assert not any("year earlier" in h for h in header)
    drill_url = reverse("leakage-customers", kwargs={"tenant": tenant_a.slug})
    drill = client.get(drill_url, {"dimension": "category", "value": "Pipe"}).content.decode()
    assert "Prior window" in drill and "A year earlier" not in drill
    header = next(
        csv.reader(
            io.StringIO(
                client.get(drill_url, {"dimension": "category", "value": "Pipe", "export": "csv"}).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert not any("year earlier" in h for h in header) and len(header) == 6


def test_a_shorter_window_keeps_a_year_earlier(tenant_a):
    _run, customers, _ = build(tenant_a, settings=SHORT)
    add_lines(tenant_a, customers)
    html = login(tenant_a.manager).get(reverse("leakage", kwargs={"tenant": tenant_a.slug})).content.decode()
    assert "A year earlier" in html and 'id="year-ago-merged"' not in html
