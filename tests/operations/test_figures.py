"""Every operations figure against a naive computation over the hand-made lines (tests/operations/conftest.py):
plain Python loops over the rows, Decimal money, sequential allocation."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from operations import selectors as ops
from operations.selectors import CutChoice
from sales.models import Inventory
from tests.operations.conftest import AS_OF, RATES, START, WINDOW_DAYS, cents

pytestmark = pytest.mark.django_db

DEMAND_FIELDS = ("revenue", "core_revenue", "units", "core_units")
CHOICES = [
    CutChoice(supplier=["S1"]),
    CutChoice(brand=["Bolt"]),
    CutChoice(product=["P03", "P07"]),
    CutChoice(supplier=["S2"], brand=["Acme"], product=["P05"]),
]


def naive_cut(data, choice: CutChoice):
    def cut(p):
        return p.supplier_id in choice.supplier or p.brand in choice.brand or p.product_id in choice.product

    window = data.in_window()
    per = defaultdict(lambda: {"revenue": Decimal(0), "cost": Decimal(0), "lines": 0, "special": 0})
    spend = defaultdict(Decimal)
    for ln in window:
        spend[ln["customer"].pk] += ln["revenue"]
        if cut(ln["product"]):
            row = per[ln["customer"].pk]
            row["revenue"] += ln["revenue"]
            row["cost"] += ln["cost"]
            row["lines"] += 1
            row["special"] += ln["special_order"]
    out = {}
    for pk, row in per.items():
        gm = row["revenue"] - row["cost"]
        net = (
            gm
            - row["lines"] * Decimal(RATES["cost_per_line"])
            - row["special"] * Decimal(RATES["cost_per_special_order"])
        )
        out[pk] = {**row, "gm": gm, "net": net, "share": float(row["revenue"] / spend[pk]) if spend[pk] > 0 else None}
    return out


@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: repr(c.as_dict()))
def test_cut_impact_matches_naive_sums(data, choice):
    expected = naive_cut(data, choice)
    core = {pk: v for pk, v in expected.items() if data.segment[pk] == "core"}
    erp = {c.pk: c.customer_id for c in data.customers}
    with scopes_disabled():
        result = ops.cut_impact(distributor=data.tenant.distributor, run=data.run, choice=choice)
    assert result["core_customers"] == sorted(erp[pk] for pk in core)
    assert core, "the hand-made data should put core customers at risk"
    assert result["revenue"] == cents(sum(v["revenue"] for v in core.values()))
    assert result["gross_margin"] == cents(sum(v["gm"] for v in core.values()))
    assert result["net_profit"] == cents(sum(v["net"] for v in core.values()))
    assert result["total"]["customers"] == len(expected)
    assert result["total"]["revenue"] == cents(sum(v["revenue"] for v in expected.values()))
    rows = {r["customer_id"]: r for r in result["customers"]}
    assert set(rows) == {erp[pk] for pk in core}
    for pk, v in core.items():
        row = rows[erp[pk]]
        assert row["revenue"] == cents(v["revenue"]) and row["lines"] == v["lines"]
        assert row["gross_margin"] == cents(v["gm"])
        assert row["share"] == pytest.approx(v["share"])
    by_segment = {s["segment"]: s for s in result["by_segment"]}
    for segment in {data.segment[pk] for pk in expected}:
        members = [v for pk, v in expected.items() if data.segment[pk] == segment]
        assert by_segment[segment]["revenue"] == cents(sum(v["revenue"] for v in members))


def test_cut_alternatives_are_uncut_products_core_customers_buy(data):
    choice = CutChoice(supplier=["S1"])
    with scopes_disabled():
        alternatives = ops.cut_impact(distributor=data.tenant.distributor, run=data.run, choice=choice)["alternatives"]
    cut_categories = {p.category for p in data.products if p.supplier_id == "S1"}
    expected = defaultdict(set)
    for ln in data.in_window():
        p = ln["product"]
        if data.segment[ln["customer"].pk] == "core" and p.supplier_id != "S1" and p.category in cut_categories:
            expected[p.product_id].add(ln["customer"].pk)
    got = {a["product_id"]: a["core_customers"] for a in alternatives}
    # at most 5 per category, the most core customers first
    for product_id, n in got.items():
        assert len(expected[product_id]) == n
    assert all(a["category"] in cut_categories for a in alternatives)


def test_unknown_cut_values_are_named(data):
    with scopes_disabled():
        unknown = ops.cut_unknown(
            distributor=data.tenant.distributor,
            choice=CutChoice(
                supplier=["S1", "NOPE"], brand=["Zed"], product=["P01", data.tenant.product.product_id + "x"]
            ),
        )
    assert unknown == {"supplier": ["NOPE"], "brand": ["Zed"], "product": [data.tenant.product.product_id + "x"]}


@pytest.mark.parametrize("branch", ["", "East"])
def test_core_demand_per_product_and_category(data, branch):
    with scopes_disabled():  # P01 also at East, 10 days: there its own row beats the every-branch 60
        p01 = next(p for p in data.products if p.product_id == "P01")
        Inventory.objects.create(
            distributor=data.tenant.distributor, product=p01, branch="East", on_hand=0, lead_time_days=10
        )
    for dimension, key in (("product", lambda p: p.product_id), ("category", lambda p: p.category)):
        with scopes_disabled():
            rows = {
                r["value"]: r
                for r in ops.core_demand(
                    distributor=data.tenant.distributor, run=data.run, dimension=dimension, branch=branch
                )
            }
        expected = defaultdict(
            lambda: {
                **{k: Decimal(0) for k in DEMAND_FIELDS},
                "lines": 0,
                "core_lines": 0,
                "core_customers": set(),
                "core_orders": set(),
                "core_bought": Decimal(0),
            }
        )
        for ln in data.in_window():
            if branch and ln["branch"] != branch:
                continue
            e = expected[key(ln["product"])]
            e["revenue"] += ln["revenue"]
            e["lines"] += 1
            e["units"] += ln["quantity"]
            if data.segment[ln["customer"].pk] == "core":
                e["core_revenue"] += ln["revenue"]
                e["core_lines"] += 1
                e["core_units"] += ln["quantity"]
                if ln["quantity"] > 0:  # a return is not buying (as on the scarce-stock page)
                    e["core_customers"].add(ln["customer"].pk)
                    e["core_orders"].add(ln["invoice_id"])
                    e["core_bought"] += ln["quantity"]
        assert set(rows) == set(expected)
        for value, e in expected.items():
            r = rows[value]
            assert r["revenue"] == cents(e["revenue"]) and r["core_revenue"] == cents(e["core_revenue"])
            assert r["lines"] == e["lines"] and r["core_lines"] == e["core_lines"]
            assert r["core_units"] == pytest.approx(float(e["core_units"]))
            assert r["core_customers"] == len(e["core_customers"]) and r["core_orders"] == len(e["core_orders"])
            if e["revenue"] > 0:
                assert r["core_share"] == pytest.approx(float(e["core_revenue"] / e["revenue"]))
        if dimension == "product":
            # Inventory (conftest): P00 at East 30 days, P01 at every branch 60 (and at East 10, above),
            # P02 at West 7, P03 at West (none given: the default, 14). At a branch, its own row, else
            # the every-branch row, else the default; without a branch, the longest.
            lead = {"": {"P00": 30, "P01": 60, "P02": 7}, "East": {"P00": 30, "P01": 10}}[branch]
            for value, e in expected.items():
                days = lead.get(value, 14)
                assert rows[value]["lead_time_days"] == days
                assert rows[value]["core_lead_time_demand"] == pytest.approx(
                    float(e["core_bought"]) / WINDOW_DAYS * days, abs=0.01
                )


def naive_allocation(data):
    """Sequential allocation, product by product: core first, then segment order, then net profit."""
    order = ["core", "opportunistic", "service_drain", "marginal", "lapsed"]
    stock = {"P00": ("East", 4, 30), "P01": ("", 5, 60), "P02": ("West", 10000, 7), "P03": ("West", 2, 14)}
    out = {}
    for product_id, (branch, supply, lead) in stock.items():
        need = defaultdict(Decimal)
        for ln in data.in_window():
            if ln["product"].product_id != product_id or ln["quantity"] <= 0:
                continue
            if branch and ln["branch"] != branch:
                continue
            need[ln["customer"]] += ln["quantity"]
        needs = {c: float(q) / WINDOW_DAYS * lead for c, q in need.items()}
        if sum(needs.values()) <= supply:
            continue
        left = float(supply)
        ranked = sorted(needs, key=lambda c: (order.index(data.segment[c.pk]), -data.net_profit[c.pk], c.customer_id))
        rows = []
        for c in ranked:
            given = min(needs[c], max(left, 0.0))
            left -= given
            rows.append((c.customer_id, round(needs[c], 2), round(given, 2), round(needs[c] - given, 2)))
        out[product_id] = rows
    return out


def test_scarce_stock_allocates_core_first(data):
    with scopes_disabled():
        products, allocation = ops.scarce_stock(distributor=data.tenant.distributor, run=data.run)
    expected = naive_allocation(data)
    assert {p["product_id"] for p in products} == set(expected)
    assert "P02" not in expected  # plenty of stock
    got = defaultdict(list)
    for a in allocation:
        got[a["product_id"]].append((a["customer_id"], a["demand"], a["allocated"], a["short"]))
    for product_id, rows in expected.items():
        assert [r[0] for r in got[product_id]] == [r[0] for r in rows]
        for mine, theirs in zip(got[product_id], rows, strict=True):
            assert mine[1:] == pytest.approx(theirs[1:], abs=0.011)
        segments = [a["segment"] for a in allocation if a["product_id"] == product_id]
        assert segments == sorted(segments, key=["core", "opportunistic", "service_drain", "marginal", "lapsed"].index)


def test_stock_recommendations_use_the_thresholds(data):
    with scopes_disabled():
        result = ops.stock_recommendations(distributor=data.tenant.distributor, run=data.run)
    core_orders, core_customers, special = defaultdict(set), defaultdict(set), defaultdict(int)
    lines, core_lines = defaultdict(int), defaultdict(int)
    for ln in data.in_window():
        p = ln["product"].product_id
        lines[p] += 1
        special[p] += ln["special_order"]
        if data.segment[ln["customer"].pk] == "core":
            core_orders[p].add(ln["invoice_id"])
            core_customers[p].add(ln["customer"].pk)
            core_lines[p] += 1
    to_stock = {p.product_id for p in data.products if p.is_stock is False and len(core_orders[p.product_id]) >= 3}
    assert {r["product_id"] for r in result["to_stock"]} == to_stock and to_stock
    for r in result["to_stock"]:
        assert r["saving"] == special[r["product_id"]] * Decimal("30.00")
        assert r["core_orders"] == len(core_orders[r["product_id"]])
    to_drop = {
        p.product_id
        for p in data.products
        if p.is_stock is True and core_lines[p.product_id] == 0 and lines[p.product_id] <= 4
    }
    assert {r["product_id"] for r in result["to_drop"]} == to_drop
    assert "P13" in to_drop  # a stock item nobody bought
    buyers = defaultdict(set)
    for ln in data.in_window():
        buyers[ln["product"].product_id].add(ln["customer"].customer_id)
    for r in result["to_drop"]:
        named = {part.split(" (")[0] for part in r["affected"].split(", ")} if r["affected"] else set()
        assert named == buyers[r["product_id"]], r


def test_deliveries_and_consolidation(data):
    with scopes_disabled():
        result = ops.deliveries(distributor=data.tenant.distributor, run=data.run)
        saving = ops.consolidation(distributor=data.tenant.distributor, run=data.run)
    rate = {"truck": Decimal("40.00"), "ups": Decimal("12.50")}
    kept = [ln for ln in data.in_window() if ln["quantity"] >= 0 and ln["revenue"] >= 0]
    deliveries = {(ln["customer"].pk, ln["invoice_id"], ln["ship_method"]): ln for ln in kept}
    cells = defaultdict(int)
    for (pk, _inv, method), _ln in deliveries.items():
        customer = next(c for c in data.customers if c.pk == pk)
        cells[(customer.branch, method)] += 1
    got = {(r["branch"], r["ship_method"]): r for r in result["rows"]}
    assert {k: v["deliveries"] for k, v in got.items()} == dict(cells)
    for (_branch, method), r in got.items():
        assert r["cost"] == r["deliveries"] * rate.get(method, Decimal("15.00"))
    # consolidation: marginal customers, at most one delivery a week, the dearest kept
    weeks = defaultdict(list)
    for (pk, _inv, method), ln in deliveries.items():
        if data.segment[pk] == "marginal":
            day = ln["invoice_date"]
            weeks[(pk, day - timedelta(days=day.weekday()))].append(rate.get(method, Decimal("15.00")))
    saved = [sorted(r, reverse=True)[1:] for r in weeks.values()]
    assert saving["saved_deliveries"] == sum(len(s) for s in saved) > 0
    assert saving["saved_cost"] == sum((sum(s, Decimal(0)) for s in saved), Decimal(0))


def test_lookalikes_rank_non_core_customers_with_categories_to_pitch(data):
    with scopes_disabled():
        rows = ops.lookalikes(distributor=data.tenant.distributor, run=data.run)
    assert rows and all(r["segment"] not in ("core", "lapsed") for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all(0 < r["similarity"] <= 1.0000001 for r in rows)


def test_window_bounds_are_the_runs(data):
    assert AS_OF - timedelta(days=WINDOW_DAYS - 1) == START
