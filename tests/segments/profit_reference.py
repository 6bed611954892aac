"""A deliberately naive, independent implementation of PROFIT_CENTERS.md, line by line with exact
fractions. It shares no code with `segments.profit_centers`: its own defaults, its own window and
return rules, straight from the documents.

`line_costs(lines, as_of, settings)` gives each window line's cost-to-serve; `figures(lines, segments,
dimension, as_of, settings)` gives {value: {customers, lines, revenue, gross_margin, cost_to_serve,
net_profit, net_profit_<segment>}} with `(none)` for an empty value."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction

DEFAULTS = {
    "window_days": 365,
    "cost_per_order": "20.00",
    "cost_per_line": "2.50",
    "cost_per_return": "25.00",
    "cost_per_special_order": "30.00",
    "delivery_cost": {},
    "default_delivery_cost": "15.00",
    "ar_carrying_rate": "0.10",
}
SEGMENT_NAMES = ("core", "service_drain", "opportunistic", "marginal")


def _f(value) -> Fraction:
    return Fraction(str(value)) if isinstance(value, (Decimal, str, float)) else Fraction(value)


def in_window(line: dict, as_of: date, window_days: int) -> bool:
    days = (as_of - line["invoice_date"]).days
    return 0 <= days < window_days


def is_return(line: dict) -> bool:
    return line["quantity"] < 0 or line["revenue"] < 0


def line_costs(lines: list[dict], as_of: date, settings: dict | None = None) -> list[tuple[dict, Fraction]]:
    s = {**DEFAULTS, **(settings or {})}
    window = [line for line in lines if in_window(line, as_of, s["window_days"])]
    k = Counter((x["customer_id"], x["invoice_id"]) for x in window if not is_return(x))
    m = Counter((x["customer_id"], x["invoice_id"], x["ship_method"] or "") for x in window if not is_return(x))
    out = []
    for x in window:
        cost = _f(s["cost_per_line"])
        if is_return(x):
            cost += _f(s["cost_per_return"])
        if x["special_order"]:
            cost += _f(s["cost_per_special_order"])
        if x["days_to_pay"] is not None:
            cost += _f(x["revenue"]) * x["days_to_pay"] / 365 * _f(s["ar_carrying_rate"])
        if not is_return(x):
            cost += _f(s["cost_per_order"]) / k[(x["customer_id"], x["invoice_id"])]
            method = x["ship_method"] or ""
            rate = s["delivery_cost"].get(method, s["default_delivery_cost"]) if method else s["default_delivery_cost"]
            cost += _f(rate) / m[(x["customer_id"], x["invoice_id"], method)]
        out.append((x, cost))
    return out


def value_of(line: dict, dimension: str, segments: dict) -> str:
    if dimension == "segment":
        value = segments[line["customer_id"]]
    elif dimension == "rep":
        value = line["rep"] or line["assigned_rep"]
    else:
        value = line[dimension]
    return value if value else "(none)"


def figures(lines, segments: dict, dimension: str, as_of: date, settings: dict | None = None) -> dict:
    out: dict = defaultdict(
        lambda: {
            "customers": set(),
            "lines": 0,
            "revenue": Fraction(0),
            "gross_margin": Fraction(0),
            "cost_to_serve": Fraction(0),
            **{f"net_profit_{s}": Fraction(0) for s in SEGMENT_NAMES},
        }
    )
    for x, cost in line_costs(lines, as_of, settings):
        row = out[value_of(x, dimension, segments)]
        row["customers"].add(x["customer_id"])
        row["lines"] += 1
        row["revenue"] += _f(x["revenue"])
        row["gross_margin"] += _f(x["revenue"]) - _f(x["cost"])
        row["cost_to_serve"] += cost
        row[f"net_profit_{segments[x['customer_id']]}"] += _f(x["revenue"]) - _f(x["cost"]) - cost
    for row in out.values():
        row["customers"] = len(row["customers"])
        row["net_profit"] = row["gross_margin"] - row["cost_to_serve"]
    return dict(out)


def cents(value: Fraction) -> Decimal:
    """Half-even to the cent, by hand."""
    scaled = value * 100
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    return Decimal(floor) / 100
