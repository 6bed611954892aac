"""The engine (aggregate_lines + stratify) against the naive reference implementation."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stratify.engine import (
    FACTORS,
    LINE_COLUMNS,
    SEGMENTS,
    ModelSettings,
    aggregate_lines,
    stratify,
)
from tests.engine.reference import run_reference

AS_OF = date(2024, 6, 30)
MONEY = ("revenue", "gross_margin", "cost_to_serve", "net_profit")
COUNTS = ("orders", "products", "categories", "active_months", "tenure_days", "recency_days")
RATIOS = ("growth", "gm_pct", "net_margin_pct", "share_of_wallet")
TOL = 1e-9


def run_engine(lines, *, as_of=AS_OF, model=None, potential=None):
    model = model or ModelSettings()
    frame = pd.DataFrame(lines, columns=list(LINE_COLUMNS))
    pot = pd.Series(potential, dtype=object) if potential else None
    aggregates, deliveries = aggregate_lines(frame, as_of=as_of, window_days=model.window_days, potential=pot)
    return stratify(aggregates, deliveries, model), aggregates, deliveries


def close(a: float, b: Fraction | float, tol: float = TOL) -> bool:
    b = float(b)
    return abs(a - b) <= tol * max(1.0, abs(b))


def assert_agree(lines, *, as_of=AS_OF, model=None, potential=None):
    model = model or ModelSettings()
    result, aggregates, deliveries = run_engine(lines, as_of=as_of, model=model, potential=potential)
    ref = run_reference(lines, as_of=as_of, settings=model.to_dict(), potential=potential)
    customers = ref["customers"]

    assert result.lapsed == ref["lapsed"]
    scores = result.scores.set_index("customer_id")
    assert list(scores.index) == sorted(customers)

    agg = aggregates.set_index("customer_id")
    for cid, expected in customers.items():
        row = scores.loc[cid]
        counts = expected["counts"]
        assert agg.loc[cid, "window_lines"] == counts["window_lines"], cid
        assert agg.loc[cid, "prior_lines"] == counts["prior_lines"], cid
        assert agg.loc[cid, "return_lines"] == counts["return_lines"], cid
        assert agg.loc[cid, "special_order_lines"] == counts["special_order_lines"], cid
        n_deliveries = int(deliveries.loc[deliveries["customer_id"] == cid, "deliveries"].sum())
        assert n_deliveries == counts["deliveries"], cid
        assert Fraction(agg.loc[cid, "revenue"]) == expected["revenue"], cid
        assert Fraction(agg.loc[cid, "gross_margin"]) == expected["gross_margin"], cid

        for f in MONEY:
            # to the cent, and in fact to float precision
            assert abs(row[f] - float(expected[f])) < 0.005, (cid, f)
            assert close(row[f], expected[f]), (cid, f, row[f], expected[f])
        for f in COUNTS:
            assert row[f] == float(expected[f]), (cid, f, row[f], expected[f])
        for f in RATIOS:
            if expected[f] is None:
                assert math.isnan(row[f]), (cid, f, row[f])
            else:
                assert close(row[f], expected[f]), (cid, f, row[f], expected[f])
        for f in FACTORS:
            assert abs(row[f"p_{f}"] - float(expected[f"p_{f}"])) <= TOL, (cid, f)
        for key in ("value_score", "profit_score", "value_rank", "profit_rank"):
            assert abs(row[key] - float(expected[key])) <= TOL, (cid, key, row[key], expected[key])
        assert row["segment"] == expected["segment"], cid

        for axis in ("value", "profit"):
            got = row["explanation"][axis]
            want = expected["explanation"][axis]
            for side in ("positive", "negative"):
                assert [e["factor"] for e in got[side]] == [e["factor"] for e in want[side]], (
                    cid,
                    axis,
                    side,
                    got[side],
                    want[side],
                )
                for g, w in zip(got[side], want[side], strict=True):
                    assert abs(g["contribution"] - float(w["contribution"])) <= TOL
                    assert abs(g["percentile"] - float(w["percentile"])) <= TOL
                    if w["value"] is None:
                        assert g["value"] is None
                    else:
                        assert close(g["value"], w["value"])

    for seg in SEGMENTS:
        got = result.totals[seg]
        want = ref["totals"][seg]
        assert got["count"] == want["count"], seg
        for key in MONEY:
            assert isinstance(got[key], Decimal)
            assert abs(Fraction(got[key]) - want[key]) < Fraction(1, 10**12), (seg, key)
    return result, ref


# --- hand-made line sets ----------------------------------------------------------------------


def line(invoice, day, customer, product="p1", *, category="A", qty=1, rev="10.00", cost="6.00",
         ship="truck", special=False, dtp=None):  # fmt: skip
    return {
        "invoice_id": invoice,
        "invoice_date": day,
        "customer_id": customer,
        "product_id": product,
        "category": category,
        "quantity": Decimal(str(qty)) if qty is not None else None,
        "revenue": Decimal(rev) if isinstance(rev, str) else rev,
        "cost": Decimal(cost) if isinstance(cost, str) else cost,
        "ship_method": ship,
        "special_order": special,
        "days_to_pay": dtp,
    }


def d(days_ago: int) -> date:
    return AS_OF - timedelta(days=days_ago)


MIXED = [
    # a: regular buyer with prior window, special order, carrying cost, two ship methods
    line("a1", d(10), "a", "p1", rev="120.00", cost="70.00", dtp=30),
    line("a1", d(10), "a", "p2", category="B", rev="80.00", cost="60.00", ship="parcel", special=True),
    line("a2", d(100), "a", "p3", category="", rev="40.00", cost="30.00", ship=None, dtp=45),
    line("a3", d(200), "a", "p1", qty=-2, rev="-20.00", cost="-12.00", dtp=5),  # return
    line("a0", d(400), "a", "p1", rev="150.00", cost="90.00"),  # prior window
    # b: ties a on nothing, revenue equal to c, unknown ship method, no prior
    line("b1", d(5), "b", "p1", rev="60.00", cost="20.00", ship="drone"),
    line("b2", d(50), "b", "p4", category=None, rev="0.00", cost="3.00"),  # zero revenue line
    # c: same revenue as b, credit note (positive qty, negative revenue)
    line("c1", d(30), "c", "p1", rev="75.00", cost="40.00"),
    line("c2", d(31), "c", "p1", qty=1, rev="-15.00", cost="0.00"),
    # e: only returns in the window -> active, negative revenue
    line("e1", d(3), "e", "p2", qty=-1, rev="-30.00", cost="-18.00", dtp=10),
    line("e0", d(500), "e", "p2", rev="30.00", cost="18.00"),
    # f: lapsed
    line("f0", d(370), "f", "p1", rev="99.00", cost="50.00"),
    # g: too old to matter, plus a future line that is ignored
    line("g0", d(800), "g", "p1"),
    line("g9", d(-5), "g", "p1"),
    # h: history older than both windows -> tenure from the first line ever
    line("h0", d(1500), "h", "p1"),
    line("h1", d(1), "h", "p5", category="C", rev="1000.00", cost="999.00", special=True, dtp=90),
]
POTENTIAL = {"a": Decimal("1000"), "b": Decimal("0"), "c": Decimal("-5"), "h": Decimal("2500.50")}


def test_mixed_default_settings():
    result, ref = assert_agree(MIXED, potential=POTENTIAL)
    assert result.lapsed == ["f"]
    assert set(result.scores["customer_id"]) == {"a", "b", "c", "e", "h"}


def test_mixed_custom_settings():
    model = ModelSettings.from_dict(
        {
            "delivery_cost": {"truck": "40.00", "parcel": "7.25"},
            "cost_per_order": "11.11",
            "cost_per_return": "0",
            "ar_carrying_rate": "0.2",
            "value_weights": {"revenue": 1, "share_of_wallet": 1, "recency_days": 0.5, "gm_pct": 0.25},
            "profit_weights": {"cost_to_serve": 1, "gross_margin": 2, "net_margin_pct": 0},
            "value_top_share": 0.5,
            "profit_top_share": 0.2,
        }
    )
    assert_agree(MIXED, model=model, potential=POTENTIAL)


def test_floats_instead_of_decimals():
    as_floats = [
        {**ln, "revenue": float(ln["revenue"]), "cost": float(ln["cost"]), "quantity": float(ln["quantity"])}
        for ln in MIXED
    ]
    result_f, _ = assert_agree(as_floats, potential={k: float(v) for k, v in POTENTIAL.items()})
    result_d, _ = run_engine(MIXED, potential=POTENTIAL)[0], None
    pd.testing.assert_frame_equal(
        result_f.scores.drop(columns="explanation"), result_d.scores.drop(columns="explanation")
    )


def test_many_ties():
    lines = [line(f"i{i}", d(i % 3), f"c{i}", rev="50.00" if i % 2 else "25.00") for i in range(9)]
    assert_agree(lines)


def test_short_window():
    model = ModelSettings(window_days=30)
    assert_agree(MIXED, model=model, potential=POTENTIAL)


# --- hypothesis-generated line sets -------------------------------------------------------------

CUSTOMERS = [f"c{i}" for i in range(7)]
SHIP = ["", None, "truck", "parcel", "will_call"]
cents = st.integers(min_value=-5_000, max_value=50_000).map(lambda c: Decimal(c) / 100)


@st.composite
def line_sets(draw, window_days=365):
    n_invoices = draw(st.integers(min_value=1, max_value=14))
    as_float = draw(st.booleans())
    lines = []
    for k in range(n_invoices):
        customer = draw(st.sampled_from(CUSTOMERS))
        age = draw(st.integers(min_value=-10, max_value=3 * window_days))
        ship = draw(st.sampled_from(SHIP))
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            revenue = draw(cents)
            cost = draw(st.one_of(cents, st.just(revenue), st.just(Decimal(0))))
            qty = draw(st.integers(min_value=-3, max_value=6))
            lines.append(
                {
                    "invoice_id": f"i{k}",
                    "invoice_date": AS_OF - timedelta(days=age),
                    "customer_id": customer,
                    "product_id": draw(st.sampled_from(["p1", "p2", "p3", "p4"])),
                    "category": draw(st.sampled_from(["A", "B", "C", "", None])),
                    "quantity": float(qty) if as_float else Decimal(qty),
                    "revenue": float(revenue) if as_float else revenue,
                    "cost": float(cost) if as_float else cost,
                    "ship_method": draw(st.one_of(st.just(ship), st.sampled_from(SHIP))),
                    "special_order": draw(st.booleans()),
                    "days_to_pay": draw(st.one_of(st.none(), st.integers(min_value=0, max_value=120))),
                }
            )
    potential = draw(
        st.dictionaries(
            st.sampled_from(CUSTOMERS),
            st.one_of(st.none(), st.integers(min_value=-100, max_value=100_000).map(Decimal)),
            max_size=7,
        )
    )
    return lines, potential


weights_strategy = st.dictionaries(
    st.sampled_from(FACTORS), st.integers(min_value=0, max_value=20).map(lambda k: k / 20), min_size=1
).filter(lambda w: sum(w.values()) > 0)
rate = st.integers(min_value=0, max_value=5_000).map(lambda c: str(Decimal(c) / 100))


@st.composite
def model_settings(draw):
    return ModelSettings.from_dict(
        {
            "window_days": draw(st.sampled_from([365, 90, 31])),
            "cost_per_order": draw(rate),
            "cost_per_line": draw(rate),
            "cost_per_return": draw(rate),
            "cost_per_special_order": draw(rate),
            "delivery_cost": draw(st.dictionaries(st.sampled_from(["truck", "parcel", "van"]), rate)),
            "default_delivery_cost": draw(rate),
            "ar_carrying_rate": draw(st.sampled_from(["0", "0.10", "0.075", "1"])),
            "value_weights": draw(weights_strategy),
            "profit_weights": draw(weights_strategy),
            "value_top_share": draw(st.sampled_from([0.1, 0.25, 0.3, 0.5, 0.7, 0.95])),
            "profit_top_share": draw(st.sampled_from([0.1, 0.3, 1 / 3, 0.5, 0.9])),
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=line_sets())
def test_generated_default_settings(data):
    lines, potential = data
    assert_agree(lines, potential=potential)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_random_settings(data):
    model = data.draw(model_settings())
    lines, potential = data.draw(line_sets(window_days=model.window_days))
    assert_agree(lines, model=model, potential=potential)
