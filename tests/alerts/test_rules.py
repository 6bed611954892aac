# ruff: noqa: E501  (tabular hand-made data reads best one row per line)
"""Each rule on hand-made data: a planted case that must raise it (with the figures and money worked
out by hand here) and control customers that must raise nothing. No database: the rules are plain
functions over frames."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from alerts import rules
from alerts.models import SETTING_DEFAULTS

AS_OF = date(2026, 6, 30)
S = dict(SETTING_DEFAULTS)
PCT = {"revenue": 0.5, "orders": 0.5, "active_months": 0.5, "products": 0.5, "categories": 0.5, "growth": 0.5,
       "tenure_days": 0.5, "net_profit": 0.5, "net_margin_pct": 0.5}  # fmt: skip


def score(customer, segment, previous="", **kw):
    row = {
        "customer": customer, "account": f"C{customer}", "name": "", "segment": segment, "previous_segment": previous,
        "net_profit": 1000.0, "revenue": 10000.0, "cost_to_serve": 500.0, "value_rank": 0.5, "profit_rank": 0.5,
        "percentiles": dict(PCT), "branch": "North", "customer_class": "oem", "rep": 1, "rep_code": "R1",
    }  # fmt: skip
    row.update(kw)
    return row


def line(customer, product, age, revenue, kept=1):
    return {"customer": customer, "product": product, "age": age, "units": int(Decimal(str(revenue)) * 10000),
            "kept": kept}  # fmt: skip


PRODUCTS = pd.DataFrame(
    [
        {"product": 1, "product_id": "P1", "name": "", "category": "Fasteners", "brand": "Acme", "supplier_id": "S1",
         "cycle": float("nan")},
        {"product": 2, "product_id": "P2", "name": "", "category": "Tools", "brand": "Bolt", "supplier_id": "S2",
         "cycle": 60.0},
        {"product": 3, "product_id": "P3", "name": "", "category": "Safety", "brand": "Crux", "supplier_id": "S3",
         "cycle": float("nan")},
    ]
)  # fmt: skip


def data(scores, lines, previous=(), costs=None, **kw):
    lines_frame = pd.DataFrame(lines, columns=["customer", "product", "age", "units", "kept"]).astype("int64")
    previous = pd.DataFrame(list(previous), columns=["customer", "segment", "net_profit"])
    return rules.RuleInput(
        as_of=AS_OF, window_days=365, value_top_share=0.3, profit_top_share=0.3,
        value_weights={"revenue": 0.35, "orders": 0.15, "active_months": 0.15, "products": 0.10, "categories": 0.10,
                       "growth": 0.10, "tenure_days": 0.05},
        profit_weights={"net_profit": 0.6, "net_margin_pct": 0.4},
        scores=pd.DataFrame(scores), previous=previous, lines=lines_frame, products=PRODUCTS,
        costs=costs if costs is not None else pd.DataFrame(columns=["customer", *rules.ACTIVITY_COLUMNS]), **kw,
    )  # fmt: skip


def keyed(found):
    return {(c["customer"], c["subject"]): c for c in found}


def test_moved_down_and_lapsed():
    d = data(
        [score(1, "marginal", "core", net_profit=200.0), score(2, "lapsed", "opportunistic"), score(3, "core", "marginal"),
         score(4, "core", "core"), score(5, "lapsed", "")],
        [line(2, 1, 400, 300), line(2, 1, 500, 200.5), line(2, 1, 100, 9999)],  # C2's window line is not prior-window revenue
        previous=[(1, "core", 1500.0), (2, "opportunistic", 800.0), (3, "marginal", 10.0), (4, "core", 1.0)],
    )  # fmt: skip
    moved = keyed(rules.moved_down(d, S))
    assert set(moved) == {(1, "C1"), (2, "C2")}  # 3 moved up, 4 stayed, 5 was not ranked
    assert moved[(1, "C1")]["amount"] == Decimal("1300.00")
    assert moved[(2, "C2")]["amount"] == Decimal("800.00")  # lapsed: no window net profit
    lapsed = keyed(rules.lapsed(d, S))
    assert set(lapsed) == {(2, "C2")}
    assert lapsed[(2, "C2")]["amount"] == Decimal("500.50")  # prior-window revenue only


def test_slipping():
    d = data(
        [score(1, "core"), score(2, "service_drain"), score(3, "core"), score(4, "marginal"), score(5, "core")],
        [
            line(1, 1, 10, 690), line(1, 1, 400, 1000),  # 690 < 0.7 x 1000: slipping by 310
            line(2, 1, 89, 100), line(2, 1, 365, 200), line(2, 1, 454, 100),  # 100 < 0.7 x 300
            line(3, 1, 10, 700), line(3, 1, 400, 1000),  # exactly 0.7: not slipping
            line(4, 1, 10, 1), line(4, 1, 400, 1000),  # marginal: not a subject
            line(5, 1, 90, 1), line(5, 1, 364, 1), line(5, 1, 455, 1000),  # outside both spans: nothing
        ],
    )  # fmt: skip
    found = keyed(rules.slipping(d, S))
    assert set(found) == {(1, "C1"), (2, "C2")}
    assert found[(1, "C1")]["amount"] == Decimal("310.00") and found[(2, "C2")]["amount"] == Decimal("200.00")


def test_overdue():
    steady = [line(1, 1, 100 + 20 * k, 50) for k in range(6)]  # every 20 days, last 100 days ago
    recent = [line(2, 1, 10 + 20 * k, 50) for k in range(6)]  # on time
    few = [line(3, 1, 100 + 20 * k, 50) for k in range(3)]  # 3 order dates: below the minimum
    returns = [line(4, 1, 100 + 20 * k, 50) for k in range(5)] + [line(4, 1, 5, -10, kept=0)]
    d = data([score(c, "core") for c in (1, 2, 3, 4)], steady + recent + few + returns)
    found = keyed(rules.overdue(d, S))
    assert set(found) == {(1, "C1"), (4, "C4")}  # a return is not an order
    # 300 window revenue x (100 - 20) days overdue / 365
    assert found[(1, "C1")]["amount"] == (Decimal(300) * 80 / 365).quantize(Decimal("0.01"))
    assert found[(1, "C1")]["figures"]["median_gap_days"] == 20.0
    short = data([score(1, "core")], [line(1, 1, 25 + 5 * k, 50) for k in range(6)])  # > 2 x 5 but not > 30 days
    assert rules.overdue(short, S) == []


def test_category_leakage():
    d = data(
        [score(1, "core"), score(2, "core"), score(3, "core"), score(4, "opportunistic")],
        [
            line(1, 1, 400, 400), line(1, 2, 400, 600), line(1, 1, 10, 100), line(1, 2, 10, 800),  # leaks Fasteners
            line(2, 1, 400, 400), line(2, 2, 400, 600), line(2, 1, 10, 100), line(2, 2, 10, 600),  # total fell: no
            line(3, 1, 400, 40), line(3, 2, 400, 1000), line(3, 2, 10, 1000),  # 40 < 5% of 1040: no
            line(4, 1, 400, 400), line(4, 2, 400, 600), line(4, 2, 10, 1000),  # not core
        ],
    )  # fmt: skip
    found = keyed(rules.category_leakage(d, S))
    assert set(found) == {(1, "Fasteners")}
    assert found[(1, "Fasteners")]["amount"] == Decimal("300.00")


def test_category_gap():
    d = data(
        [score(1, "core"), score(2, "core"), score(3, "core"), score(4, "opportunistic"), score(5, "marginal"),
         score(6, "service_drain")],
        [
            line(1, 1, 10, 100), line(2, 1, 10, 300), line(3, 2, 10, 50),  # Fasteners: 2 of 3 core; Tools 1 of 3
            line(4, 2, 10, 10), line(5, 2, 10, 10), line(6, 1, 20, 5),
        ],
    )  # fmt: skip
    found = keyed(rules.category_gap(d, S))
    assert set(found) == {(3, "Fasteners"), (4, "Fasteners")}  # marginal 5: not a subject; 6 bought it
    assert found[(4, "Fasteners")]["amount"] == Decimal("200.00")  # median of 100 and 300


def test_replenishment_due():
    d = data(
        [score(1, "core"), score(2, "core"), score(3, "marginal"), score(4, "core")],
        [
            line(1, 2, 70, 120),  # product cycle 60: due from 60 to 119 days
            line(2, 2, 30, 120),  # not yet
            line(3, 1, 40, 90), line(3, 1, 80, 90), line(3, 1, 120, 90),  # learnt cycle 40 days: 40 <= 40 < 80
            line(4, 1, 100, 90), line(4, 1, 140, 90), line(4, 1, 180, 90),  # 100 >= 2 x 40: overdue, not due
        ],
    )  # fmt: skip
    found = keyed(rules.replenishment_due(d, S))
    assert set(found) == {(1, "P2"), (3, "P1")}
    assert found[(3, "P1")]["amount"] == Decimal("90.00")
    assert found[(3, "P1")]["figures"]["cycle_source"] == "history"


def test_near_core():
    low = {**PCT, "orders": 0.1}
    d = data(
        [
            score(1, "core", net_profit=3000.0, percentiles={**PCT, "orders": 0.9}),
            score(2, "core", net_profit=5000.0, percentiles={**PCT, "orders": 0.9}),
            score(3, "opportunistic", value_rank=0.68, net_profit=1000.0, percentiles=low),  # 0.02 below 0.7
            score(4, "opportunistic", value_rank=0.60, net_profit=1000.0),  # 0.10 below: no
            score(5, "service_drain", profit_rank=0.66, net_profit=200.0),  # 0.04 below 0.7
            score(6, "marginal", value_rank=0.69, profit_rank=0.69),  # marginal: no
        ],
        [],
    )
    found = keyed(rules.near_core(d, S))
    assert set(found) == {(3, "C3"), (5, "C5")}
    assert found[(3, "C3")]["amount"] == Decimal("3000.00")  # median core 4000 - 1000
    assert found[(3, "C3")]["figures"]["factor"] == "orders"


def test_cost_to_serve_fix():
    costs = pd.DataFrame(
        [
            {"customer": 1, "cost_orders": 20, "cost_lines": 10, "cost_returns": 0, "cost_special": 0, "cost_deliveries": 20, "cost_carrying": 0},
            {"customer": 2, "cost_orders": 20, "cost_lines": 10, "cost_returns": 0, "cost_special": 0, "cost_deliveries": 20, "cost_carrying": 0},
            {"customer": 3, "cost_orders": 20, "cost_lines": 10, "cost_returns": 40, "cost_special": 0, "cost_deliveries": 20, "cost_carrying": 0},
            {"customer": 4, "cost_orders": 20, "cost_lines": 10, "cost_returns": 0, "cost_special": 0, "cost_deliveries": 40, "cost_carrying": 0},
        ]
    )  # fmt: skip
    d = data(
        [
            score(1, "core", revenue=1000.0, cost_to_serve=50.0),
            score(2, "core", revenue=2000.0, cost_to_serve=100.0),  # core median 50 per 1,000
            score(3, "service_drain", revenue=1000.0, cost_to_serve=90.0),  # 90 >= 75: fix
            score(4, "service_drain", revenue=1000.0, cost_to_serve=70.0),  # 70 < 75: no
        ],
        [],
        costs=costs,
    )
    found = keyed(rules.cost_to_serve_fix(d, S))
    assert set(found) == {(3, "C3")}
    assert found[(3, "C3")]["amount"] == Decimal("40.00")
    assert found[(3, "C3")]["figures"]["activity"] == "returns"


def test_core_slowdown():
    lines = []
    for c in (1, 2, 3):
        lines += [line(c, 1, 400, 1000), line(c, 2, 400, 1000), line(c, 3, 400, 1000)]  # a year earlier
        lines += [line(c, 1, 10, 500), line(c, 2, 10, 1500), line(c, 3, 10, 1000)]  # Fasteners/Acme/S1 halved
    lines += [line(4, 1, 400, 5000), line(4, 1, 10, 0)]  # not core: ignored
    d = data([score(1, "core"), score(2, "core"), score(3, "core"), score(4, "marginal")], lines)
    found = {(c["subject_type"], c["subject"]): c for c in rules.core_slowdown(d, S)}
    assert set(found) == {("category", "Fasteners"), ("brand", "Acme"), ("supplier", "S1")}
    assert found[("brand", "Acme")]["amount"] == Decimal("1500.00")
    assert [c["customer_id"] for c in found[("brand", "Acme")]["figures"]["cut_most"]] == ["C1", "C2", "C3"]
    falling = data([score(1, "core")], [line(1, 1, 400, 1000), line(1, 2, 400, 1000), line(1, 1, 10, 100),
                                        line(1, 2, 10, 1000)])  # fmt: skip
    assert rules.core_slowdown(falling, S) == []  # the core total fell below 95%: no slowdown alert


def test_segment_shift():
    scores = [score(1, "marginal", "core", branch="North"), score(2, "core", "core", branch="North"),
              score(3, "marginal", branch="North"), score(4, "core", branch="South")]  # fmt: skip
    previous = [(1, "core", 700.0), (2, "core", 100.0), (3, "marginal", 5.0), (4, "core", 1.0)]
    d = data(scores, [], previous=previous)
    found = {(c["subject_type"], c["subject"]): c for c in rules.segment_shift(d, S)}
    # North: 2/3 core -> 1/3 core (33 points); South unchanged; class oem 3/4 -> 2/4; rep R1 the same.
    assert set(found) == {("branch", "North"), ("customer_class", "oem"), ("rep", "R1")}
    assert found[("branch", "North")]["amount"] == Decimal("700.00")
    assert rules.segment_shift(data(scores, []), S) == []  # no previous run


def test_the_fast_money_formatter_says_what_format_money_says():
    from accounts.models import Distributor
    from alerts.inputs import money_formatter
    from stratify.formatting import format_money

    for locale, currency in (("en_US", "USD"), ("de_DE", "EUR"), ("fr_FR", "EUR"), ("en_IN", "INR"), ("ja_JP", "JPY")):
        distributor = Distributor(slug="x", name="x", locale=locale, currency=currency)
        fast = money_formatter(distributor)
        for value in (0, 1, -1, 999.5, 1234.49, -1234567.5, 12345678901, Decimal("0.5"), Decimal("-0.5"), -0.4, -0.0):
            assert fast(value) == format_money(value, distributor), (locale, value)
    # An amount that rounds to zero has no minus sign ("went from $1,036 to $0", not "to -$0").
    usd = money_formatter(Distributor(slug="x", name="x", locale="en_US", currency="USD"))
    assert usd(Decimal("-0.40")) == usd(Decimal("-0.5")) == usd(-0.0) == "$0" and usd(Decimal("-0.6")) == "-$1"


def test_a_customer_whose_returns_outweigh_its_purchases_is_said_to_have_returned_more():
    """Net revenue below zero reads "returned more ... than it bought (net -$...)", not "bought -$..."."""
    d = data(
        [score(1, "core"), score(2, "core")],
        [
            line(1, 1, 10, 100), line(1, 1, 12, -300, kept=0), line(1, 1, 400, 1000),  # slipping, net -200
            line(2, 1, 10, 100), line(2, 1, 400, 1000),  # slipping, net 100
        ],
    )  # fmt: skip
    found = keyed(rules.slipping(d, S))
    assert "returned more than it bought (net -200.00) in the last 90 days" in found[(1, "C1")]["message"]
    assert "bought -" not in found[(1, "C1")]["message"] and "less)" not in found[(1, "C1")]["message"]
    assert "bought 100.00 in the last 90 days against 1,000.00" in found[(2, "C2")]["message"]
    assert found[(2, "C2")]["message"].endswith("(90% less).")
    leak = data(
        [score(1, "core")],
        [line(1, 1, 400, 400), line(1, 2, 400, 600), line(1, 1, 10, 50), line(1, 1, 11, -150, kept=0),
         line(1, 2, 10, 1000)],  # Fasteners: 400 the window before, net -100 now; the total held
    )  # fmt: skip
    message = keyed(rules.category_leakage(leak, S))[(1, "Fasteners")]["message"]
    assert "a core customer, returned more Fasteners than it bought (net -100.00) in the last 365 days" in message
