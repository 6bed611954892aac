"""Profit centers (docs PROFIT_CENTERS.md): a run's revenue, gross margin, cost-to-serve and net profit
cut along every dimension the business sells through, exact until shown.

Reading (`read_profit_input`, inside the run's snapshot, after the engine has given each active
customer its segment) is SQL `GROUP BY` over the window's lines: per dimension value and segment the
money sums (exact integer units of 1/10,000) and counts, and, for the two shares of a line that are
divided (an order's cost over its `k` non-return lines, a delivery's over its `m`), the number of
non-return lines per (value, segment, k, ship method, m). The run then sums exact fractions in
Python over those few rows (`compute`): `n * cost_per_order / k` and `n * rate(ship) / m`, so a
value's cost-to-serve is the exact sum of its lines' shares, and the values of any dimension add up
to the run's totals exactly.

Nothing here writes: `segments.services.profit_writer` stores the rows under the run.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pandas as pd
from django.db import connection

from channels.models import Partner
from sales.models import Customer, InvoiceLine, Product, Rep
from sales.summaries import UNITS
from stratify.db import is_postgres
from stratify.engine import SEGMENTS, ModelSettings

NONE = "(none)"  # how an empty dimension value is shown and exported

# Dimension key -> (label, SQL of a line's value over the aliases of `_FROM`).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "category": ("Category", "p.category"),
    "brand": ("Brand", "p.brand"),
    "supplier": ("Supplier", "p.supplier_id"),
    "product": ("Product", "p.product_id"),
    "branch": ("Branch", "w.branch"),
    "channel": ("Channel", "w.channel"),
    "ship_method": ("Ship method", "w.ship_method"),
    "partner": ("Partner", "pa.partner_id"),
    "rep": ("Rep", "coalesce(lr.rep_id, ar.rep_id)"),
    "customer_class": ("Customer class", "c.customer_class"),
    "supply_chain_role": ("Supply-chain role", "c.supply_chain_role"),
    "industry": ("Industry", "c.industry"),
    "region": ("Region", "c.region"),
    "customer_branch": ("Customer branch", "c.branch"),
    "assigned_rep": ("Assigned rep", "ar.rep_id"),
    "segment": ("Segment", "seg.segment"),
}
DEFAULT_DIMENSION = "category"
# Two-dimension matrices kept besides every dimension x segment: (row dimension, column dimension).
PAIRS: tuple[tuple[str, str], ...] = (("branch", "category"),)
MONEY = ("revenue", "gross_margin", "cost_to_serve", "net_profit")
# The shares of a line's cost-to-serve (section 1), as the report names them.
COST_PARTS: dict[str, str] = {
    "lines": "lines",
    "returns": "returns",
    "special_orders": "special orders",
    "carrying": "carrying receivables",
    "orders": "orders",
    "deliveries": "deliveries",
}
CENT = Decimal("0.01")


def cents(value: Fraction | Decimal | int) -> Decimal:
    """An exact amount rounded half-even to the cent (for display, storage and export)."""
    value = Fraction(value)
    quotient, remainder = divmod(value.numerator * 100, value.denominator)
    twice = 2 * remainder
    if twice > value.denominator or (twice == value.denominator and quotient % 2 == 1):
        quotient += 1
    return (Decimal(quotient) / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)


def shown(value: str | None) -> str:
    """A dimension value as pages and exports show it: the empty value is `(none)`."""
    return value if value not in (None, "") else NONE


@dataclass
class Figures:
    """Section 3's figures of one value (or cell), money as exact Fractions."""

    customers: int = 0
    lines: int = 0
    revenue: Fraction = Fraction(0)
    gross_margin: Fraction = Fraction(0)
    cost_to_serve: Fraction = Fraction(0)
    segment_net_profit: dict[str, Fraction] = field(default_factory=dict)
    # cost_to_serve by share of section 1 (COST_PARTS): they add up to cost_to_serve.
    cost_parts: dict[str, Fraction] = field(default_factory=dict)

    def add_cost(self, part: str, amount: Fraction) -> None:
        self.cost_to_serve += amount
        self.cost_parts[part] = self.cost_parts.get(part, Fraction(0)) + amount

    @property
    def net_profit(self) -> Fraction:
        return self.gross_margin - self.cost_to_serve

    @property
    def net_margin_pct(self) -> float | None:
        return float(self.net_profit / self.revenue) if self.revenue > 0 else None

    def share_of(self, total: Fraction) -> float | None:
        return float(self.net_profit / total) if total > 0 else None


@dataclass
class ProfitInput:
    """What `read_profit_input` fetched: per (dimension or pair) key, the grouped rows."""

    sums: dict[tuple[str, str], list[tuple]]
    divided: dict[tuple[str, str], list[tuple]]


def _units(expr: str) -> str:
    """SQL for one money value in integer units of 1/10,000 (exact on both backends)."""
    if is_postgres():
        return f"CAST({expr} * {UNITS} AS bigint)"
    return f"CAST(round({expr} * {UNITS}) AS INTEGER)"


def _segments_source() -> str:
    """SQL of the (cpk, segment) table handed in as parameters (no temporary table: the snapshot is
    read-only)."""
    if is_postgres():
        return "SELECT * FROM unnest(%(seg_cpk)s::bigint[], %(seg_name)s::text[]) AS s(cpk, segment)"
    return "SELECT CAST(key AS INTEGER) AS cpk, value AS segment FROM json_each(%(seg_json)s)"


def _from() -> str:
    lines, products, customers = InvoiceLine._meta.db_table, Product._meta.db_table, Customer._meta.db_table
    reps, partners = Rep._meta.db_table, Partner._meta.db_table
    is_return = "(l.quantity < 0 OR l.revenue < 0)"
    special = "l.special_order" if is_postgres() else "l.special_order = 1"
    # k and m (the non-return lines of the line's invoice, and of its invoice and ship method, in the
    # window) by window functions over one sort of the window's lines, rather than joins.
    return f"""
        WITH l AS (
            SELECT l.customer_id AS cpk, l.invoice_id, l.ship_method, l.product_id, l.branch, l.channel,
                   l.rep_id, l.partner_id,
                   CASE WHEN {is_return} THEN 1 ELSE 0 END AS ret,
                   CASE WHEN {special} THEN 1 ELSE 0 END AS special,
                   {_units("l.revenue")} AS revenue_units, {_units("l.cost")} AS cost_units,
                   coalesce({_units("l.revenue")} * l.days_to_pay, 0) AS ar_units
            FROM {lines} l
            WHERE l.distributor_id = %(distributor)s AND l.invoice_date >= %(window_start)s
              AND l.invoice_date <= %(as_of)s
        ),
        w AS (
            SELECT l.*,
                   CASE WHEN ret = 0 THEN sum(1 - ret) OVER (PARTITION BY cpk, invoice_id) END AS k,
                   CASE WHEN ret = 0 THEN sum(1 - ret) OVER (PARTITION BY cpk, invoice_id, ship_method) END AS m
            FROM l
        ),
        seg AS ({_segments_source()})
        SELECT {{select}}
        FROM w
        JOIN seg ON seg.cpk = w.cpk
        JOIN {customers} c ON c.id = w.cpk AND c.distributor_id = %(distributor)s
        JOIN {products} p ON p.id = w.product_id AND p.distributor_id = %(distributor)s
        LEFT JOIN {reps} lr ON lr.id = w.rep_id AND lr.distributor_id = %(distributor)s
        LEFT JOIN {reps} ar ON ar.id = c.rep_id AND ar.distributor_id = %(distributor)s
        LEFT JOIN {partners} pa ON pa.id = w.partner_id AND pa.distributor_id = %(distributor)s
        {{where}}
        GROUP BY {{group}}"""


def _params(distributor, as_of: date, window_days: int, segments: dict[int, str]) -> dict:
    params = {
        "distributor": distributor.pk,
        "as_of": as_of,
        "window_start": as_of - timedelta(days=int(window_days) - 1),
    }
    if is_postgres():
        params["seg_cpk"] = list(segments)
        params["seg_name"] = list(segments.values())
    else:
        params["seg_json"] = json.dumps({str(k): v for k, v in segments.items()})
    return params


def _keys() -> list[tuple[str, str]]:
    """(dimension, by) of every table computed: each dimension alone and by segment, and the pairs."""
    return [(d, "segment") for d in DIMENSIONS] + [(a, b) for a, b in PAIRS]


def read_profit_input(*, distributor, as_of: date, window_days: int, segments: dict[int, str]) -> ProfitInput:
    """The grouped rows every profit-center figure is computed from (run inside the run's snapshot).
    `segments`: customer pk -> segment of every active customer."""
    params = _params(distributor, as_of, window_days, segments)
    template = _from()
    sums: dict = {}
    divided: dict = {}
    with connection.cursor() as cursor:
        for dimension, by in _keys():
            value = DIMENSIONS[dimension][1]
            other = DIMENSIONS[by][1]
            keys = f"coalesce({value}, ''), coalesce({other}, ''), seg.segment"
            cursor.execute(
                template.format(
                    select=f"""{keys}, count(*), count(DISTINCT w.cpk), sum(w.ret), sum(w.special),
                               sum(w.revenue_units), sum(w.cost_units), sum(w.ar_units)""",
                    where="",
                    group=keys,
                ),
                params,
            )
            sums[(dimension, by)] = cursor.fetchall()
            cursor.execute(
                template.format(
                    select=f"{keys}, w.k, w.ship_method, w.m, count(*)",
                    where="WHERE w.ret = 0",
                    group=f"{keys}, w.k, w.ship_method, w.m",
                ),
                params,
            )
            divided[(dimension, by)] = cursor.fetchall()
    return ProfitInput(sums=sums, divided=divided)


def _rate(settings: ModelSettings, ship_method: str | None) -> Fraction:
    rates = {str(k): v for k, v in settings.delivery_cost.items()}
    if ship_method and str(ship_method) in rates:
        return Fraction(rates[str(ship_method)])
    return Fraction(settings.default_delivery_cost)


@dataclass
class ProfitTable:
    """One (dimension, by) table: figures per value, per (value, by_value) cell."""

    dimension: str
    by: str
    values: dict[str, Figures]
    cells: dict[tuple[str, str], Figures]


def compute(data: ProfitInput, settings: ModelSettings) -> dict[tuple[str, str], ProfitTable]:
    """Exact figures of every table of `data` (see module doc)."""
    per_line = Fraction(settings.cost_per_line)
    per_return = Fraction(settings.cost_per_return)
    per_special = Fraction(settings.cost_per_special_order)
    per_order = Fraction(settings.cost_per_order)
    carrying = Fraction(settings.ar_carrying_rate) / 365 / UNITS
    rates: dict = {}
    tables = {}
    for key, rows in data.sums.items():
        # (value, by_value, segment) -> Figures; then rolled up per value and per cell.
        parts: dict[tuple[str, str, str], Figures] = defaultdict(Figures)
        for value, other, segment, lines, customers, returns, special, rev, cost, ar in rows:
            f = parts[(value, other, segment)]
            f.lines += int(lines)
            f.customers += int(customers)
            f.revenue += Fraction(int(rev), UNITS)
            f.gross_margin += Fraction(int(rev) - int(cost), UNITS)
            f.add_cost("lines", int(lines) * per_line)
            f.add_cost("returns", int(returns or 0) * per_return)
            f.add_cost("special_orders", int(special or 0) * per_special)
            f.add_cost("carrying", int(ar or 0) * carrying)
        for (value, other, segment), orders, deliveries in _divided_shares(data.divided[key]):
            f = parts[(value, other, segment)]
            f.add_cost("orders", orders * per_order)
            for ship, count in deliveries:
                if ship not in rates:
                    rates[ship] = _rate(settings, ship)
                f.add_cost("deliveries", count * rates[ship])
        tables[key] = _roll_up(key, parts)
    return tables


def _divided_shares(rows: list[tuple]):
    """Per (value, other, segment): the exact sum of n/k (orders) and, per ship method, of n/m
    (deliveries) over the grouped rows (value, other, segment, k, ship, m, n). Whole columns: each
    count is scaled to a common denominator (the lcm of the k's, of the m's) as integers, summed by
    group, and divided once; exact Fractions row by row when that denominator would not fit int64."""
    if not rows:
        return []
    frame = pd.DataFrame.from_records(rows, columns=["value", "other", "segment", "k", "ship", "m", "n"])
    for column in ("k", "m", "n"):
        frame[column] = frame[column].astype("int64")
    frame["ship"] = frame["ship"].astype(object).where(frame["ship"].notna(), "")
    keys = ["value", "other", "segment"]
    total = int(frame["n"].sum())
    lcm_k = math.lcm(*map(int, frame["k"].unique()))
    lcm_m = math.lcm(*map(int, frame["m"].unique()))
    if max(lcm_k, lcm_m) * max(total, 1) >= 2**62:
        out: dict = {}
        for value, other, segment, k, ship, m, n in rows:
            orders, deliveries = out.setdefault((value, other, segment), [Fraction(0), {}])
            out[(value, other, segment)][0] = orders + Fraction(int(n), int(k))
            deliveries[ship or ""] = deliveries.get(ship or "", Fraction(0)) + Fraction(int(n), int(m))
        return [(key, orders, list(deliveries.items())) for key, (orders, deliveries) in out.items()]
    frame["order_units"] = frame["n"] * (lcm_k // frame["k"])
    frame["delivery_units"] = frame["n"] * (lcm_m // frame["m"])
    orders = frame.groupby(keys, sort=False)["order_units"].sum()
    per_ship = frame.groupby([*keys, "ship"], sort=False)["delivery_units"].sum()
    deliveries: dict = defaultdict(list)
    for (value, other, segment, ship), units in per_ship.items():
        deliveries[(value, other, segment)].append((ship, Fraction(int(units), lcm_m)))
    return [(key, Fraction(int(units), lcm_k), deliveries[key]) for key, units in orders.items()]


def _roll_up(key: tuple[str, str], parts: dict) -> ProfitTable:
    dimension, by = key
    values: dict[str, Figures] = defaultdict(Figures)
    cells: dict[tuple[str, str], Figures] = defaultdict(Figures)
    # Distinct customers of a value: a customer has one segment, so the per-segment counts add up.
    # Across the other dimension's values they do not (unless it is the segment): counted per cell.
    for (value, other, segment), f in parts.items():
        for target in ([values[value]] if by == "segment" else []) + [cells[(value, other)]]:
            target.lines += f.lines
            target.customers += f.customers
            target.revenue += f.revenue
            target.gross_margin += f.gross_margin
            for part, amount in f.cost_parts.items():
                target.add_cost(part, amount)
            target.segment_net_profit[segment] = target.segment_net_profit.get(segment, Fraction(0)) + f.net_profit
    return ProfitTable(dimension, by, dict(values), dict(cells))


def ordered(values: dict[str, Figures]) -> list[tuple[str, Figures]]:
    """Values by net profit, highest first (ties by value), the whale curve's order."""
    return sorted(values.items(), key=lambda item: (-item[1].net_profit, item[0]))


def whale_curve(values: dict[str, Figures]) -> dict:
    """The cumulative net profit along `ordered`, its peak, and how far the peak stands above the
    final total (what the drains give away)."""
    running = Fraction(0)
    points = []
    for _value, f in ordered(values):
        running += f.net_profit
        points.append(running)
    peak = max(points, default=Fraction(0))
    peak = max(peak, Fraction(0))
    return {"points": points, "peak": peak, "total": running, "given_away": peak - running}


__all__ = [
    "DEFAULT_DIMENSION",
    "DIMENSIONS",
    "MONEY",
    "NONE",
    "PAIRS",
    "SEGMENTS",
    "Figures",
    "ProfitTable",
    "cents",
    "compute",
    "ordered",
    "read_profit_input",
    "shown",
    "whale_curve",
]


# --- what the report answers: columns of the export and the API, in this order -------------------

EXPORT_COLUMNS: tuple[str, ...] = (
    "value",
    "customers",
    "lines",
    "revenue",
    "gross_margin",
    "cost_to_serve",
    "net_profit",
    "net_margin_pct",
    "net_profit_share",
    *(f"net_profit_{s}" for s in SEGMENTS),
)


def unknown_dimension(dimension: str | None) -> str | None:
    """The error message for a dimension that is not one of DIMENSIONS (None when it is)."""
    if dimension in DIMENSIONS:
        return None
    return f"Unknown dimension {dimension!r}: use one of {', '.join(DIMENSIONS)}."


def matrix_dimensions(dimension: str) -> tuple[str, ...]:
    """The `by` a dimension's matrix may use: the segment, and the pairs it leads."""
    return ("segment", *(b for a, b in PAIRS if a == dimension))


def ratio_text(value: float | None) -> str:
    return "" if value is None else format(value, ".10g")


def export_record(row) -> dict:
    """A stored `ProfitCenter` row as the export writes it: money to the cent as text, ratios as
    fractions of 1, the empty value `(none)`."""
    record = {
        "value": shown(row.value),
        "customers": row.customers,
        "lines": row.lines,
        **{name: f"{getattr(row, name):.2f}" for name in MONEY},
        "net_margin_pct": ratio_text(row.net_margin_pct),
        "net_profit_share": ratio_text(row.net_profit_share),
    }
    for segment in SEGMENTS:
        record[f"net_profit_{segment}"] = row.segment_net_profit.get(segment, "0.00")
    return record
