"""Hand-made cases for the stratification engine, with numbers worked out by hand."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from stratify.engine import (
    AGGREGATE_COLUMNS,
    FACTORS,
    LAPSED,
    LINE_COLUMNS,
    LOWER_IS_BETTER,
    SCORE_COLUMNS,
    SEGMENTS,
    ModelSettings,
    SettingsError,
    StratificationResult,
    aggregate_lines,
    stratify,
    validate_settings,
)

AS_OF = date(2024, 6, 30)


def d(days_ago: int) -> date:
    return AS_OF - timedelta(days=days_ago)


def line(invoice, day, customer, product="p1", *, category="A", qty=1, rev="10.00", cost="6.00",
         ship="truck", special=False, dtp=None):  # fmt: skip
    return {
        "invoice_id": invoice,
        "invoice_date": day,
        "customer_id": customer,
        "product_id": product,
        "category": category,
        "quantity": Decimal(str(qty)),
        "revenue": Decimal(rev),
        "cost": Decimal(cost),
        "ship_method": ship,
        "special_order": special,
        "days_to_pay": dtp,
    }


def run(lines, model=None, potential=None, as_of=AS_OF):
    model = model or ModelSettings()
    frame = pd.DataFrame(lines, columns=list(LINE_COLUMNS))
    aggregates, deliveries = aggregate_lines(
        frame,
        as_of=as_of,
        window_days=model.window_days,
        potential=pd.Series(potential, dtype=object) if potential else None,
    )
    result = stratify(aggregates, deliveries, model)
    return result, aggregates.set_index("customer_id"), deliveries


def row(result: StratificationResult, customer: str) -> pd.Series:
    return result.scores.set_index("customer_id").loc[customer]


# --- public constants ---------------------------------------------------------------------------


def test_constants():
    assert FACTORS == (
        "revenue", "growth", "orders", "products", "categories", "active_months", "tenure_days",
        "recency_days", "gross_margin", "gm_pct", "cost_to_serve", "net_profit", "net_margin_pct",
        "share_of_wallet",
    )  # fmt: skip
    assert frozenset({"recency_days", "cost_to_serve"}) == LOWER_IS_BETTER
    assert SEGMENTS == ("core", "service_drain", "opportunistic", "marginal")
    assert LAPSED == "lapsed"
    assert "potential_annual_spend" in AGGREGATE_COLUMNS
    assert SCORE_COLUMNS[0] == "customer_id"
    assert all(f"p_{f}" in SCORE_COLUMNS for f in FACTORS)


# --- cost to serve and money --------------------------------------------------------------------

COSTS = [
    line("i1", d(60), "a", "p1", category="X", qty=2, rev="100.00", cost="60.00", ship="truck", dtp=30),
    line("i1", d(60), "a", "p2", category=None, rev="50.00", cost="20.00", ship="", special=True),
    line("i2", d(20), "a", "p1", qty=-1, rev="-40.00", cost="-24.00", ship="truck", dtp=10),  # return
    line("i3", d(15), "a", "p3", category="Y", rev="30.00", cost="10.00", ship="drone"),  # unknown
]


def test_aggregates_and_deliveries():
    _, agg, deliveries = run(COSTS)
    a = agg.loc["a"]
    assert a["window_lines"] == 4
    assert a["prior_lines"] == 0
    assert a["revenue"] == Decimal("140.00")
    assert a["prior_revenue"] == Decimal("0")
    assert a["gross_margin"] == Decimal("74.00")
    assert (a["orders"], a["products"], a["categories"], a["active_months"]) == (2, 3, 2, 2)
    assert (a["return_lines"], a["special_order_lines"]) == (1, 1)
    assert a["ar_base"] == Decimal("2600.00")  # 100*30 - 40*10
    assert a["first_date"] == d(60)
    assert a["last_date"] == d(15)
    assert a["as_of"] == AS_OF
    assert a["potential_annual_spend"] is None
    got = {(r.ship_method, r.deliveries) for r in deliveries.itertuples()}
    assert got == {("truck", 1), ("", 1), ("drone", 1)}  # the return's (i2, truck) is not a delivery


def test_cost_to_serve_with_delivery_map_unknown_and_empty_methods():
    model = ModelSettings(delivery_cost={"truck": Decimal("40.00"), "van": Decimal("5.00")})
    result, _, _ = run(COSTS, model)
    a = row(result, "a")
    # 2 orders*20 + 4 lines*2.50 + 1 return*25 + 1 special*30 + deliveries (truck 40 + "" 15 + drone 15)
    # + carrying 2600 * 0.10 / 365
    expected = Decimal(175) + Decimal(260) / Decimal(365)
    assert a["cost_to_serve"] == pytest.approx(float(expected), abs=1e-9)
    assert round(a["cost_to_serve"], 2) == 175.71
    assert a["net_profit"] == pytest.approx(74 - float(expected), abs=1e-9)
    assert a["net_margin_pct"] == pytest.approx((74 - float(expected)) / 140, abs=1e-12)
    assert a["gm_pct"] == pytest.approx(74 / 140, abs=1e-15)
    assert (a["tenure_days"], a["recency_days"]) == (60, 15)
    totals = result.totals[a["segment"]]
    assert totals["cost_to_serve"].quantize(Decimal("0.01")) == Decimal("175.71")
    assert totals["revenue"] == Decimal("140.00")
    assert Fraction(totals["net_profit"]) == 74 - Fraction(totals["cost_to_serve"])


def test_each_rate_is_applied_once_per_unit():
    base = ModelSettings(
        cost_per_order=Decimal(0), cost_per_line=Decimal(0), cost_per_return=Decimal(0),
        cost_per_special_order=Decimal(0), default_delivery_cost=Decimal(0), ar_carrying_rate=Decimal(0),
    )  # fmt: skip
    assert row(run(COSTS, base)[0], "a")["cost_to_serve"] == 0
    cases = {
        "cost_per_order": 2,
        "cost_per_line": 4,
        "cost_per_return": 1,
        "cost_per_special_order": 1,
        "default_delivery_cost": 3,
    }
    for name, units in cases.items():
        model = base.copy_with(**{name: Decimal("1.00")})
        assert row(run(COSTS, model)[0], "a")["cost_to_serve"] == units, name
    model = base.copy_with(ar_carrying_rate=Decimal("0.365"))
    assert row(run(COSTS, model)[0], "a")["cost_to_serve"] == pytest.approx(2.6)


def test_special_orders_cost():
    lines = [line("i1", d(1), "a", special=True), line("i1", d(1), "a", "p2", special=True)]
    plain = [line("i1", d(1), "a"), line("i1", d(1), "a", "p2")]
    special = row(run(lines)[0], "a")["cost_to_serve"]
    normal = row(run(plain)[0], "a")["cost_to_serve"]
    assert special - normal == 60.0
    assert normal == 20 + 2 * 2.5 + 15


def test_days_to_pay_carrying_cost_ignores_missing_days():
    lines = [
        line("i1", d(1), "a", rev="365.00", cost="0", dtp=20),
        line("i1", d(1), "a", "p2", rev="1000.00", cost="0", dtp=None),
    ]
    a = row(run(lines)[0], "a")
    assert a["cost_to_serve"] == pytest.approx(20 + 2 * 2.5 + 15 + 365 * 20 / 365 * 0.10)


# --- returns, credits, zero and negative revenue --------------------------------------------------


def test_returns_and_credits():
    lines = [
        line("i1", d(5), "a", "p1", category="A", rev="100.00", cost="50.00"),
        line("i2", d(4), "a", "p2", category="B", qty=-1, rev="-30.00", cost="-15.00"),  # return
        line("i3", d(3), "a", "p3", category="C", qty=2, rev="-10.00", cost="0.00"),  # credit note
        line("i4", d(2), "a", "p4", category="D", qty=-1, rev="5.00", cost="0.00"),  # return by quantity
    ]
    result, agg, deliveries = run(lines)
    a = row(result, "a")
    assert a["revenue"] == 65.0  # net of returns and credits
    assert a["gross_margin"] == 65.0 - 35.0
    assert (a["orders"], a["products"], a["categories"], a["active_months"]) == (1, 1, 1, 1)
    assert agg.loc["a", "return_lines"] == 3
    assert agg.loc["a", "window_lines"] == 4
    assert deliveries["deliveries"].sum() == 1
    assert a["recency_days"] == 2  # the last line of any kind
    # 1 order*20 + 4 lines*2.5 + 3 returns*25 + 1 delivery*15
    assert a["cost_to_serve"] == 120.0


def test_zero_and_negative_revenue_have_missing_margins():
    lines = [
        line("i1", d(1), "pos", rev="100.00", cost="40.00"),
        line("i2", d(1), "zero", rev="0.00", cost="5.00"),
        line("i3", d(1), "neg", qty=-1, rev="-20.00", cost="-10.00"),
    ]
    result, agg, _ = run(lines)
    for cid in ("zero", "neg"):
        r = row(result, cid)
        assert math.isnan(r["gm_pct"]) and math.isnan(r["net_margin_pct"])
        assert r["p_gm_pct"] == 0.0 and r["p_net_margin_pct"] == 0.0
    # the only non-missing value ranks alone: p = 1/1
    assert row(result, "pos")["p_gm_pct"] == 1.0
    assert row(result, "pos")["p_net_margin_pct"] == 1.0
    assert row(result, "zero")["orders"] == 1  # revenue 0 is not a return
    assert row(result, "neg")["orders"] == 0
    assert row(result, "neg")["revenue"] == -20.0
    assert agg.loc["neg", "window_lines"] == 1  # only a return, still active


# --- growth, share of wallet, tenure ------------------------------------------------------------


def test_growth_missing_without_prior_window():
    lines = [
        line("a0", d(400), "a", rev="100.00"),
        line("a1", d(10), "a", rev="150.00"),
        line("b1", d(10), "b", rev="150.00"),
        line("c0", d(500), "c", qty=-1, rev="-10.00"),  # prior revenue < 0 -> missing
        line("c1", d(10), "c", rev="150.00"),
        line("e0", d(500), "e", rev="300.00"),
        line("e1", d(10), "e", rev="150.00"),
    ]
    result, _, _ = run(lines)
    assert row(result, "a")["growth"] == pytest.approx(0.5)
    assert row(result, "e")["growth"] == pytest.approx(-0.5)
    for cid in ("b", "c"):
        assert math.isnan(row(result, cid)["growth"])
        assert row(result, cid)["p_growth"] == 0.5
    assert row(result, "a")["p_growth"] == 1.0
    assert row(result, "e")["p_growth"] == 0.5  # rank 1 of 2 non-missing


def test_share_of_wallet():
    lines = [line(f"i{c}", d(1), c, rev="50.00") for c in "abcd"]
    potential = {"a": Decimal("200"), "b": Decimal("0"), "c": None, "x": Decimal("1")}
    result, agg, _ = run(lines, potential=potential)
    assert row(result, "a")["share_of_wallet"] == 0.25
    for cid in "bcd":
        assert math.isnan(row(result, cid)["share_of_wallet"])
        assert row(result, cid)["p_share_of_wallet"] == 0.5
    assert agg.loc["a", "potential_annual_spend"] == Decimal("200")
    assert agg.loc["d", "potential_annual_spend"] is None


def test_lines_after_as_of_are_ignored_also_for_tenure():
    lines = [
        line("i0", d(-30), "a", rev="9999.00"),
        line("i1", d(100), "a", rev="10.00"),
        line("i2", d(-1), "b", rev="10.00"),  # only future lines: not a customer of this run
    ]
    result, agg, _ = run(lines)
    assert list(result.scores["customer_id"]) == ["a"]
    assert row(result, "a")["tenure_days"] == 100
    assert row(result, "a")["revenue"] == 10.0
    assert result.lapsed == []


def test_tenure_uses_all_history():
    lines = [line("i0", d(2000), "a"), line("i1", d(3), "a")]
    result, agg, _ = run(lines)
    assert row(result, "a")["tenure_days"] == 2000
    assert agg.loc["a", "prior_lines"] == 0


# --- ranking, lapsed, segments ------------------------------------------------------------------


def test_ties_get_average_percentiles():
    lines = [
        line("i1", d(1), "a", rev="10.00"),
        line("i2", d(1), "b", rev="10.00"),
        line("i3", d(2), "c", rev="20.00"),
        line("i4", d(3), "e", rev="20.00"),
    ]
    result, _, _ = run(lines)
    p = result.scores.set_index("customer_id")["p_revenue"]
    assert p.to_dict() == {"a": 0.375, "b": 0.375, "c": 0.875, "e": 0.875}
    # recency: lower is better; a and b (1 day) best
    r = result.scores.set_index("customer_id")["p_recency_days"]
    assert r.to_dict() == {"a": 0.875, "b": 0.875, "c": 0.5, "e": 0.25}
    # every count factor ties: p = (n + 1) / (2n)
    assert (result.scores["p_orders"] == 0.625).all()


def test_lapsed_customers_are_listed_not_ranked():
    lines = [
        line("i1", d(1), "a"),
        line("i2", d(400), "lap2"),
        line("i3", d(366), "lap1"),
        line("i4", d(800), "gone"),  # older than the prior window: neither
    ]
    result, agg, _ = run(lines)
    assert result.lapsed == ["lap1", "lap2"]
    assert list(result.scores["customer_id"]) == ["a"]
    assert set(agg.index) == {"a", "lap1", "lap2"}
    assert agg.loc["lap1", "window_lines"] == 0
    assert agg.loc["lap1", "last_date"] is None
    assert sum(t["count"] for t in result.totals.values()) == 1


def ladder(n=10, cost="0.00"):
    """n customers, identical but for revenue 100*k (k = 1..n)."""
    return [line(f"i{k}", d(5), f"c{k:02d}", rev=f"{100 * k}.00", cost=cost) for k in range(1, n + 1)]


def test_top_thirty_percent_exactly():
    result, _, _ = run(ladder())
    scores = result.scores.set_index("customer_id")
    assert scores["value_rank"].tolist() == pytest.approx([k / 10 for k in range(1, 11)])
    assert scores["profit_rank"].tolist() == pytest.approx([k / 10 for k in range(1, 11)])
    assert scores["segment"].tolist() == ["marginal"] * 7 + ["core"] * 3
    assert result.totals["core"]["count"] == 3
    assert result.totals["core"]["revenue"] == Decimal("2700.00")
    assert result.totals["service_drain"] == {
        "count": 0,
        "revenue": Decimal(0),
        "gross_margin": Decimal(0),
        "cost_to_serve": Decimal(0),
        "net_profit": Decimal(0),
    }


def test_loss_makers_are_never_high_profit():
    result, _, _ = run(ladder(cost="5000.00"))
    scores = result.scores
    assert (scores["net_profit"] < 0).all()
    assert set(scores["segment"]) == {"service_drain", "marginal"}
    assert (scores["segment"] == "service_drain").sum() == 3


def test_opportunistic_and_service_drain():
    # value axis on revenue only, profit axis on gross margin only, inverted order
    model = ModelSettings.from_dict(
        {"value_weights": {"revenue": 1}, "profit_weights": {"gm_pct": 1}, "cost_per_order": "0",
         "cost_per_line": "0", "default_delivery_cost": "0"}
    )  # fmt: skip
    lines = [
        line(f"i{k}", d(5), f"c{k}", rev=f"{100 * k}.00", cost=f"{100 * k - (11 - k) * 5}.00") for k in range(1, 11)
    ]
    result, _, _ = run(lines, model)
    seg = result.scores.set_index("customer_id")["segment"].to_dict()
    assert [seg[f"c{k}"] for k in (1, 2, 3)] == ["opportunistic"] * 3
    assert [seg[f"c{k}"] for k in (8, 9, 10)] == ["service_drain"] * 3
    assert {seg[f"c{k}"] for k in range(4, 8)} == {"marginal"}


# --- explanation --------------------------------------------------------------------------------


def test_explanation_content():
    lines = [
        line("a1", d(1), "a", "p1", rev="300.00"),
        line("a2", d(40), "a", "p2", category="B", rev="300.00"),
        line("b1", d(1), "b", "p1", rev="200.00"),
        line("c1", d(1), "c", "p1", rev="100.00"),
    ]
    result, _, _ = run(lines)
    a = row(result, "a")["explanation"]
    assert set(a) == {"value", "profit"}
    # a is first on revenue (p 1), orders/active_months/products/categories (p 1), tenure (p 1)
    pos = a["value"]["positive"]
    assert [e["factor"] for e in pos] == ["revenue", "orders"]  # orders ties active_months: FACTORS order
    assert pos[0]["contribution"] == pytest.approx(0.35 * 0.5)
    assert pos[0]["percentile"] == 1.0
    assert pos[0]["value"] == 600.0
    assert pos[1]["contribution"] == pytest.approx(0.15 * 0.5)
    assert a["value"]["negative"] == []
    # b and c tie on every count and on tenure (p 0.5, contribution 0): only revenue tells them apart
    b = row(result, "b")["explanation"]
    assert [e["factor"] for e in b["value"]["positive"]] == ["revenue"]
    assert b["value"]["positive"][0]["contribution"] == pytest.approx(0.35 * (2 / 3 - 0.5))
    assert b["value"]["negative"] == []
    c = row(result, "c")["explanation"]
    neg = c["value"]["negative"]
    assert [e["factor"] for e in neg] == ["revenue"]
    assert neg[0]["contribution"] == pytest.approx(0.35 * (1 / 3 - 0.5))
    assert neg[0]["percentile"] == pytest.approx(1 / 3)
    assert neg[0]["value"] == 100.0
    assert c["value"]["positive"] == []
    # growth is missing for everyone (p 0.5, contribution 0): never listed
    for cid in "abc":
        ex = row(result, cid)["explanation"]
        for axis in ("value", "profit"):
            for side in ("positive", "negative"):
                assert len(ex[axis][side]) <= 2
                assert all(e["factor"] != "growth" for e in ex[axis][side])
    json.dumps(result.scores["explanation"].tolist())  # JSON-safe


def test_explanation_missing_value_is_none():
    lines = [line("a1", d(1), "a", rev="100.00"), line("b1", d(1), "b", qty=-1, rev="-5.00", cost="-3.00")]
    result, _, _ = run(lines)
    neg = row(result, "b")["explanation"]["profit"]["negative"]
    nm = [e for e in neg if e["factor"] == "net_margin_pct"]
    assert nm and nm[0]["value"] is None and nm[0]["percentile"] == 0.0
    assert nm[0]["contribution"] == pytest.approx(0.4 * -0.5)


# --- interface details --------------------------------------------------------------------------


def test_scores_frame_shape_and_types():
    result, _, _ = run(COSTS + ladder(4))
    scores = result.scores
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert list(scores["customer_id"]) == sorted(scores["customer_id"])
    for f in FACTORS:
        assert scores[f].dtype == "float64", f
        assert scores[f"p_{f}"].dtype == "float64", f
    for c in ("value_score", "profit_score", "value_rank", "profit_rank"):
        assert scores[c].dtype == "float64"
    assert set(result.totals) == set(SEGMENTS)


def test_progress_is_reported():
    seen = []
    frame = pd.DataFrame(COSTS, columns=list(LINE_COLUMNS))
    agg, dl = aggregate_lines(frame, as_of=AS_OF, window_days=365)
    stratify(agg, dl, ModelSettings(), progress=seen.append)
    assert seen[0] == 0 and seen[-1] == 100 and seen == sorted(seen) and len(seen) >= 3


def test_empty_inputs():
    frame = pd.DataFrame(columns=list(LINE_COLUMNS))
    agg, dl = aggregate_lines(frame, as_of=AS_OF, window_days=365)
    assert list(agg.columns) == list(AGGREGATE_COLUMNS) and agg.empty
    result = stratify(agg, dl, ModelSettings())
    assert result.scores.empty and list(result.scores.columns) == list(SCORE_COLUMNS)
    assert result.lapsed == []
    assert all(t["count"] == 0 for t in result.totals.values())


def test_aggregates_with_float_money_and_timestamps():
    frame = pd.DataFrame(COSTS + ladder(5), columns=list(LINE_COLUMNS))
    agg, dl = aggregate_lines(frame, as_of=AS_OF, window_days=365)
    model = ModelSettings(delivery_cost={"truck": Decimal("40.00")})
    exact = stratify(agg, dl, model)
    floats = agg.copy()
    for c in ("revenue", "prior_revenue", "gross_margin", "ar_base"):
        floats[c] = floats[c].astype(float)
    floats["first_date"] = pd.to_datetime(floats["first_date"])
    floats["as_of"] = pd.Timestamp(AS_OF)
    floats = floats.sample(frac=1, random_state=3)  # order does not matter
    other = stratify(floats, dl, model)
    pd.testing.assert_frame_equal(exact.scores, other.scores)


def test_invoice_date_as_datetime_and_string_ids():
    frame = pd.DataFrame(COSTS, columns=list(LINE_COLUMNS))
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"]) + pd.Timedelta(hours=13)
    agg, _ = aggregate_lines(frame, as_of=pd.Timestamp(AS_OF), window_days=365)
    assert agg.loc[0, "first_date"] == d(60)
    assert agg.loc[0, "last_date"] == d(15)


# --- settings -----------------------------------------------------------------------------------


def test_defaults():
    s = ModelSettings()
    assert s.window_days == 365
    assert s.cost_per_order == Decimal("20.00") and s.cost_per_line == Decimal("2.50")
    assert s.cost_per_return == Decimal("25.00") and s.cost_per_special_order == Decimal("30.00")
    assert s.delivery_cost == {} and s.default_delivery_cost == Decimal("15.00")
    assert s.ar_carrying_rate == Decimal("0.10")
    assert s.value_weights == {
        "revenue": 0.35, "orders": 0.15, "active_months": 0.15, "products": 0.10, "categories": 0.10,
        "growth": 0.10, "tenure_days": 0.05,
    }  # fmt: skip
    assert s.profit_weights == {"net_profit": 0.60, "net_margin_pct": 0.40}
    assert s.value_top_share == 0.30 and s.profit_top_share == 0.30


def test_to_dict_from_dict_round_trip():
    s = ModelSettings(
        window_days=180,
        delivery_cost={"truck": Decimal("42.10"), "parcel": Decimal("6")},
        ar_carrying_rate=Decimal("0.125"),
        value_weights={"revenue": 1.0, "share_of_wallet": 0.5},
        profit_top_share=0.25,
    )
    data = s.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["delivery_cost"] == {"parcel": "6", "truck": "42.10"}
    assert data["cost_per_line"] == "2.50"
    back = ModelSettings.from_dict(json.loads(json.dumps(data)))
    assert back == s
    assert back.to_dict() == data
    assert ModelSettings.from_dict({}) == ModelSettings()
    assert ModelSettings.from_dict(ModelSettings().to_dict()) == ModelSettings()


def test_from_dict_partial_and_overrides():
    s = ModelSettings.from_dict({"cost_per_order": 12.5, "value_weights": {"revenue": 2}})
    assert s.cost_per_order == Decimal("12.5")
    assert s.value_weights == {"revenue": 2.0}  # a given nested dict replaces the default
    assert s.cost_per_line == Decimal("2.50")
    t = s.with_overrides({"value_top_share": 0.5, "delivery_cost": {"van": "3.00"}})
    assert t.value_top_share == 0.5 and t.delivery_cost == {"van": Decimal("3.00")}
    assert t.cost_per_order == Decimal("12.5") and t.value_weights == {"revenue": 2.0}
    assert s.value_top_share == 0.30  # unchanged
    with pytest.raises(SettingsError):
        s.with_overrides({"profit_top_share": 1})


def test_from_dict_rejects_unknown_keys_and_invalid_values():
    with pytest.raises(SettingsError) as info:
        ModelSettings.from_dict({"colour": "blue", "cost_per_line": "-1"})
    assert set(info.value.errors) == {"colour", "cost_per_line"}
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"value_weights": {"revenue": -0.1, "orders": 1}}, "value_weights.revenue"),
        ({"value_weights": {"revenue": 0, "orders": 0}}, "value_weights"),
        ({"profit_weights": {}}, "profit_weights"),
        ({"value_weights": {"revenu": 1}}, "value_weights.revenu"),
        ({"profit_weights": {"net_profit": "x"}}, "profit_weights.net_profit"),
        ({"profit_weights": [1, 2]}, "profit_weights"),
        ({"value_top_share": 0}, "value_top_share"),
        ({"value_top_share": 1}, "value_top_share"),
        ({"profit_top_share": 1.5}, "profit_top_share"),
        ({"profit_top_share": "abc"}, "profit_top_share"),
        ({"cost_per_order": "-0.01"}, "cost_per_order"),
        ({"cost_per_line": -1}, "cost_per_line"),
        ({"cost_per_return": "NaN"}, "cost_per_return"),
        ({"cost_per_special_order": None}, "cost_per_special_order"),
        ({"default_delivery_cost": -15}, "default_delivery_cost"),
        ({"ar_carrying_rate": "-0.1"}, "ar_carrying_rate"),
        ({"delivery_cost": {"parcel": "-2"}}, "delivery_cost.parcel"),
        ({"delivery_cost": {"parcel": "two"}}, "delivery_cost.parcel"),
        ({"delivery_cost": {"": "2"}}, "delivery_cost"),
        ({"delivery_cost": "2"}, "delivery_cost"),
        ({"window_days": 0}, "window_days"),
        ({"window_days": 30.5}, "window_days"),
        ({"window_days": "abc"}, "window_days"),
        ({"window_days": True}, "window_days"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_validation_errors(data, field):
    errors = validate_settings(data)
    assert field in errors, errors
    assert all(isinstance(m, str) and m for m in errors[field])
    with pytest.raises(SettingsError) as info:
        ModelSettings.from_dict(data)
    assert field in info.value.errors


def test_validation_accepts_valid_dicts():
    assert validate_settings({}) == {}
    assert validate_settings(ModelSettings().to_dict()) == {}
    assert (
        validate_settings(
            {
                "window_days": "90",
                "cost_per_order": 0,
                "delivery_cost": {"truck": "0", "parcel": 3.5},
                "value_weights": {"revenue": 0, "share_of_wallet": 1},
                "value_top_share": 0.01,
                "profit_top_share": "0.99",
            }
        )
        == {}
    )


def test_several_errors_are_reported_together():
    errors = validate_settings(
        {"value_weights": {"revenue": -1, "bogus": 1}, "value_top_share": 0, "cost_per_line": "-2"}
    )
    assert {"value_weights.revenue", "value_weights.bogus", "value_top_share", "cost_per_line"} <= set(errors)


def test_constructor_normalises_types():
    s = ModelSettings(window_days="30", cost_per_order=12.1, delivery_cost={"truck": 40}, value_weights={"revenue": 1})
    assert s.window_days == 30
    assert s.cost_per_order == Decimal("12.1")  # read through str(), not the binary float
    assert s.delivery_cost == {"truck": Decimal(40)}
    assert s.value_weights == {"revenue": 1.0}
    assert s == ModelSettings.from_dict(s.to_dict())
