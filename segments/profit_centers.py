"""Profit centers (docs PROFIT_CENTERS.md): a run's revenue, gross margin, cost-to-serve and net profit
cut along every dimension the business sells through, exact until shown.

Reading (`read_profit_input`, inside the run's snapshot, after the engine has given each active
customer its segment) is SQL over the window's lines: per dimension value and segment the money sums
(exact integer units of 1/10,000) and counts, and the two shares of a line that are divided (an
order's cost over its `k` non-return lines, a delivery's over its `m`) summed exactly: on PostgreSQL as
integer numerators over a common denominator in one GROUPING SETS pass, on SQLite by counting the
lines per (k, ship method, m) and summing `n / k` as Fractions. `compute` turns those few rows into
exact Fractions, so a value's cost-to-serve is the exact sum of its lines' shares, and the values of
any dimension add up to the run's totals exactly.

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
from sales.models import Customer, CustomerInvoice, InvoiceLine, Product, Rep
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


def cents(value: Fraction | Decimal | int, denominator: int = 1) -> Decimal:
    """An exact amount (or the numerator of one over `denominator`) rounded half-even to the cent (for
    display, storage and export)."""
    value = Fraction(value)
    numerator, denominator = value.numerator, value.denominator * denominator
    quotient, remainder = divmod(numerator * 100, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return (Decimal(quotient) / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)


def shown(value: str | None) -> str:
    """A dimension value as pages and exports show it: the empty value is `(none)`."""
    return value if value not in (None, "") else NONE


@dataclass
class Figures:
    """Section 3's figures of one value (or cell). Money is exact: integer numerators over `unit`, the
    common denominator of one whole computation, so that adding up is adding integers (Fractions
    reduce by a gcd at every step, 20x slower here). The properties give the exact Fractions."""

    unit: int = 1
    customers: int = 0
    lines: int = 0
    revenue_n: int = 0
    gross_margin_n: int = 0
    cost_to_serve_n: int = 0
    segment_net_profit_n: dict[str, int] = field(default_factory=dict)
    # cost_to_serve by share of section 1 (COST_PARTS): they add up to cost_to_serve.
    cost_parts_n: dict[str, int] = field(default_factory=dict)

    def add_cost(self, part: str, numerator: int) -> None:
        self.cost_to_serve_n += numerator
        self.cost_parts_n[part] = self.cost_parts_n.get(part, 0) + numerator

    def add(self, other: Figures, segment: str) -> None:
        """Add `other` (of the same unit), whose lines are all of `segment`'s customers."""
        self.lines += other.lines
        self.customers += other.customers
        self.revenue_n += other.revenue_n
        self.gross_margin_n += other.gross_margin_n
        for part, numerator in other.cost_parts_n.items():
            self.add_cost(part, numerator)
        self.segment_net_profit_n[segment] = self.segment_net_profit_n.get(segment, 0) + other.net_profit_n

    @property
    def net_profit_n(self) -> int:
        return self.gross_margin_n - self.cost_to_serve_n

    def exact(self, numerator: int) -> Fraction:
        return Fraction(numerator, self.unit)

    @property
    def revenue(self) -> Fraction:
        return self.exact(self.revenue_n)

    @property
    def gross_margin(self) -> Fraction:
        return self.exact(self.gross_margin_n)

    @property
    def cost_to_serve(self) -> Fraction:
        return self.exact(self.cost_to_serve_n)

    @property
    def net_profit(self) -> Fraction:
        return self.exact(self.net_profit_n)

    @property
    def cost_parts(self) -> dict[str, Fraction]:
        return {part: self.exact(n) for part, n in self.cost_parts_n.items()}

    @property
    def segment_net_profit(self) -> dict[str, Fraction]:
        return {segment: self.exact(n) for segment, n in self.segment_net_profit_n.items()}

    @property
    def net_margin_pct(self) -> float | None:
        # int / int is correctly rounded: the float nearest the exact ratio.
        return self.net_profit_n / self.revenue_n if self.revenue_n > 0 else None

    def share_of(self, total_n: int) -> float | None:
        """The share of a total given as a numerator over the same unit."""
        return self.net_profit_n / total_n if total_n > 0 else None


# One grouped row of a table: (value, other value, segment, lines, customers, returns, special orders,
# revenue units, cost units, receivable units, orders, deliveries), all integers. `orders` is the sum of
# 1/k over its non-return lines times `ProfitInput.order_unit`; `deliveries` its lines' delivery shares
# (`rate(ship_method) / m`, money) times `ProfitInput.delivery_unit`.
GroupedRow = tuple


@dataclass
class ProfitInput:
    """What `read_profit_input` fetched: per (dimension, by) key, its grouped rows."""

    rows: dict[tuple[str, str], list[GroupedRow]]
    order_unit: int
    delivery_unit: int


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


def _window_lines_sql() -> str:
    """The CTEs `l` (the window's lines, money in integer units, return and special-order flags) and `w`
    (with `k` and `m`: the non-return lines of the line's invoice, and of its invoice and ship method,
    in the window, by window functions over one sort of the window's lines rather than joins)."""
    is_return = "(l.quantity < 0 OR l.revenue < 0)"
    special = "l.special_order" if is_postgres() else "l.special_order = 1"
    return f"""
        l AS (
            SELECT l.customer_id AS cpk, l.invoice_id, l.ship_method, l.product_id, l.branch, l.channel,
                   l.rep_id, l.partner_id,
                   CASE WHEN {is_return} THEN 1 ELSE 0 END AS ret,
                   CASE WHEN {special} THEN 1 ELSE 0 END AS special,
                   {_units("l.revenue")} AS revenue_units, {_units("l.cost")} AS cost_units,
                   coalesce({_units("l.revenue")} * l.days_to_pay, 0) AS ar_units
            FROM {InvoiceLine._meta.db_table} l
            WHERE l.distributor_id = %(distributor)s AND l.invoice_date >= %(window_start)s
              AND l.invoice_date <= %(as_of)s
        ),
        w AS (
            SELECT l.*,
                   CASE WHEN ret = 0 THEN sum(1 - ret) OVER (PARTITION BY cpk, invoice_id) END AS k,
                   CASE WHEN ret = 0 THEN sum(1 - ret) OVER (PARTITION BY cpk, invoice_id, ship_method) END AS m
            FROM l
        )"""


def _dimension_joins() -> str:
    """The joins of `w` that give every dimension's SQL of DIMENSIONS its aliases (and the segment)."""
    customers, reps = Customer._meta.db_table, Rep._meta.db_table
    return f"""
        JOIN seg ON seg.cpk = w.cpk
        JOIN {customers} c ON c.id = w.cpk AND c.distributor_id = %(distributor)s
        JOIN {Product._meta.db_table} p ON p.id = w.product_id AND p.distributor_id = %(distributor)s
        LEFT JOIN {reps} lr ON lr.id = w.rep_id AND lr.distributor_id = %(distributor)s
        LEFT JOIN {reps} ar ON ar.id = c.rep_id AND ar.distributor_id = %(distributor)s
        LEFT JOIN {Partner._meta.db_table} pa ON pa.id = w.partner_id AND pa.distributor_id = %(distributor)s"""


def _from() -> str:
    return f"""
        WITH {_window_lines_sql()},
        seg AS ({_segments_source()})
        SELECT {{select}}
        FROM w {_dimension_joins()}
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


def read_profit_input(
    *, distributor, as_of: date, window_days: int, segments: dict[int, str], settings: ModelSettings
) -> ProfitInput:
    """The grouped rows every profit-center figure is computed from (run inside the run's snapshot).
    `segments`: customer pk -> segment of every active customer.

    PostgreSQL reads the window's lines once (`_read_in_one_pass`: GROUPING SETS, exact integer
    numerators over a common denominator); SQLite, the embedded default for small tenants, has
    neither GROUPING SETS nor exact wide integers and runs two GROUP BYs per table
    (`_read_per_table`). Both give the same rows; the tests run each against the naive reference."""
    params = _params(distributor, as_of, window_days, segments)
    reader = _read_in_one_pass if is_postgres() else _read_per_table
    return reader(params, settings)


def _rates(settings: ModelSettings) -> tuple[dict[str, Fraction], Fraction]:
    """The delivery rate per named ship method, and the rate of any other (or empty) one."""
    return {str(k): Fraction(v) for k, v in settings.delivery_cost.items()}, Fraction(settings.default_delivery_cost)


def _read_per_table(params: dict, settings: ModelSettings) -> ProfitInput:
    """Per table, the money sums and counts, and the non-return lines per (k, ship method, m), from
    which `_divided_shares` sums the exact fractions."""
    template = _from()
    rates, default = _rates(settings)
    none = (Fraction(0), Fraction(0))
    out: dict = {}
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
            sums = cursor.fetchall()
            cursor.execute(
                template.format(
                    select=f"{keys}, w.k, w.ship_method, w.m, count(*)",
                    where="WHERE w.ret = 0",
                    group=f"{keys}, w.k, w.ship_method, w.m",
                ),
                params,
            )
            shares = {
                key: (orders, sum((n * rates.get(ship, default) for ship, n in per_ship), Fraction(0)))
                for key, orders, per_ship in _divided_shares(cursor.fetchall())
            }
            out[(dimension, by)] = [
                (*row[:3], *(int(x or 0) for x in row[3:]), *shares.get(tuple(row[:3]), none)) for row in sums
            ]
    # The exact shares as integer numerators over their common denominators.
    order_unit = math.lcm(1, *(row[-2].denominator for rows in out.values() for row in rows))
    delivery_unit = math.lcm(1, *(row[-1].denominator for rows in out.values() for row in rows))
    for key, rows in out.items():
        out[key] = [(*row[:-2], int(row[-2] * order_unit), int(row[-1] * delivery_unit)) for row in rows]
    return ProfitInput(rows=out, order_unit=order_unit, delivery_unit=delivery_unit)


# The one-pass reader groups the lines by the line-level dimensions; the customer-level ones are
# summed from each customer's totals.
LINE_DIMENSIONS = ("category", "brand", "supplier", "product", "branch", "channel", "ship_method", "partner", "rep")
CUSTOMER_DIMENSIONS = ("customer_class", "supply_chain_role", "industry", "region", "customer_branch", "assigned_rep")
# GROUPING() of the first pass: bit i (from the left) is set when LINE_DIMENSIONS[i] is not grouped.
CUSTOMER_TOTALS = 2 ** len(LINE_DIMENSIONS) - 1


def _gid(*grouped: str) -> int:
    width = len(LINE_DIMENSIONS)
    return sum(1 << (width - 1 - i) for i, d in enumerate(LINE_DIMENSIONS) if d not in grouped)


def _common_denominator(cursor, params: dict, *, per_ship_method: bool) -> int:
    """The lcm of the window's `k` (or, per ship method, `m`) values, read from the invoice summaries
    (the same non-return lines, kept at import time), so that every line's 1/k is an integer over it.
    The one-pass query checks that each line's own count divides it."""
    group = "ci.customer_id, ci.invoice_id" + (", ci.ship_method" if per_ship_method else "")
    cursor.execute(
        f"""SELECT DISTINCT sum(ci.kept_lines) FROM {CustomerInvoice._meta.db_table} ci
            WHERE ci.distributor_id = %(distributor)s AND ci.invoice_date >= %(window_start)s
              AND ci.invoice_date <= %(as_of)s AND ci.kept_lines > 0
            GROUP BY {group}""",
        params,
    )
    return math.lcm(1, *(int(n) for (n,) in cursor.fetchall()))


def _read_in_one_pass(params: dict, settings: ModelSettings) -> ProfitInput:
    """Every table from one read of the window's lines (PostgreSQL).

    Per line, the order share's numerator `L_k / k` and the delivery share's `rate * L_m / m`: integers
    (`numeric`, of any size) over the common denominators `L_k` and `L_m` times the rates' scale. A
    first GROUPING SETS pass sums them per customer and line-level value (so a value's customers are a
    plain count), with each customer's totals; then those rows are summed per value and segment, and
    the customers' totals per customer-level value and segment."""
    rates, default = _rates(settings)
    scale = math.lcm(1, *(r.denominator for r in (*rates.values(), default)))
    ships = list(rates)
    when = " ".join(f"WHEN %(ship_{i})s THEN {int(rates[ship] * scale)}" for i, ship in enumerate(ships))
    rate = f"CASE w.ship_method {when} ELSE {int(default * scale)} END" if ships else str(int(default * scale))
    line_list = ", ".join(LINE_DIMENSIONS)
    # The value of a first-pass row (and the pair's second value): the column its set grouped.
    value = " ".join(f"WHEN {_gid(d)} THEN {d}" for d in LINE_DIMENSIONS)
    value += " " + " ".join(f"WHEN {_gid(a, b)} THEN {a}" for a, b in PAIRS)
    other = " ".join(f"WHEN {_gid(a, b)} THEN {b}" for a, b in PAIRS)
    inner_sets = ", ".join([*(f"({d})" for d in LINE_DIMENSIONS), *(f"({a}, {b})" for a, b in PAIRS), "()"])
    customer_list = ", ".join(CUSTOMER_DIMENSIONS)
    customer_value = " ".join(f"WHEN {_customer_gid(d)} THEN {d}" for d in CUSTOMER_DIMENSIONS)
    sums = """count(*), sum(lines), sum(returns), sum(special), sum(revenue_units), sum(cost_units),
              sum(ar_units), sum(order_n), sum(delivery_n), sum(bad_divisor)"""
    with connection.cursor() as cursor:
        lk = _common_denominator(cursor, params, per_ship_method=False)
        lm = _common_denominator(cursor, params, per_ship_method=True)
        params = {**params, "lk": lk, "lm": lm, **{f"ship_{i}": ship for i, ship in enumerate(ships)}}
        # Hash aggregation (rather than a sort per grouping set) needs more than the default 4 MB.
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute(
            f"""
            WITH {_window_lines_sql()},
            seg AS ({_segments_source()}),
            x AS (
                SELECT w.cpk, seg.segment,
                       {", ".join(f"coalesce({DIMENSIONS[d][1]}, '') AS {d}" for d in LINE_DIMENSIONS)},
                       w.ret, w.special, w.revenue_units, w.cost_units, w.ar_units,
                       CASE WHEN w.ret = 0 THEN div(%(lk)s::numeric, w.k) END AS order_n,
                       CASE WHEN w.ret = 0 THEN {rate} * div(%(lm)s::numeric, w.m) END AS delivery_n,
                       CASE WHEN w.ret = 0 AND (mod(%(lk)s::numeric, w.k) <> 0 OR mod(%(lm)s::numeric, w.m) <> 0)
                            THEN 1 ELSE 0 END AS bad_divisor
                FROM w {_dimension_joins()}
            ),
            g AS MATERIALIZED (
                SELECT cpk, segment, GROUPING({line_list}) AS gid,
                       CASE GROUPING({line_list}) {value} END AS value,
                       CASE GROUPING({line_list}) {other} END AS other,
                       count(*) AS lines, sum(ret) AS returns, sum(special) AS special,
                       sum(revenue_units) AS revenue_units, sum(cost_units) AS cost_units,
                       sum(ar_units) AS ar_units, coalesce(sum(order_n), 0) AS order_n,
                       coalesce(sum(delivery_n), 0) AS delivery_n, sum(bad_divisor) AS bad_divisor
                FROM x
                GROUP BY cpk, segment, GROUPING SETS ({inner_sets})
            ),
            totals AS (
                SELECT g.*, {", ".join(f"coalesce({DIMENSIONS[d][1]}, '') AS {d}" for d in CUSTOMER_DIMENSIONS)}
                FROM g
                JOIN {Customer._meta.db_table} c ON c.id = g.cpk AND c.distributor_id = %(distributor)s
                LEFT JOIN {Rep._meta.db_table} ar ON ar.id = c.rep_id AND ar.distributor_id = %(distributor)s
                WHERE g.gid = {CUSTOMER_TOTALS}
            )
            SELECT FALSE, gid, segment, value, other, {sums}
            FROM g GROUP BY gid, segment, value, other
            UNION ALL
            SELECT TRUE, GROUPING({customer_list}), segment, CASE GROUPING({customer_list}) {customer_value} END,
                   NULL, {sums}
            FROM totals GROUP BY segment, GROUPING SETS ({", ".join(f"({d})" for d in CUSTOMER_DIMENSIONS)})""",
            params,
        )
        grouped = cursor.fetchall()
    return ProfitInput(rows=_tables_from_one_pass(grouped), order_unit=lk, delivery_unit=lm * scale)


WORK_MEM = "256MB"


def _customer_gid(dimension: str) -> int:
    """GROUPING() of the customer-level pass for the set grouping `dimension` alone."""
    width = len(CUSTOMER_DIMENSIONS)
    return sum(1 << (width - 1 - i) for i, d in enumerate(CUSTOMER_DIMENSIONS) if d != dimension)


def _tables_from_one_pass(grouped: list[tuple]) -> dict:
    """The one-pass rows sorted into the tables of `_keys()`, in the rows' shape (see `GroupedRow`)."""
    line_sets = {_gid(d): (d, "segment") for d in LINE_DIMENSIONS}
    line_sets |= {_gid(a, b): (a, b) for a, b in PAIRS}
    line_sets[CUSTOMER_TOTALS] = ("segment", "segment")
    customer_sets = {_customer_gid(d): (d, "segment") for d in CUSTOMER_DIMENSIONS}
    out: dict = {key: [] for key in _keys()}
    for is_customer_level, gid, segment, value, other, *figures in grouped:
        customers, lines, returns, special, rev, cost, ar, order_n, delivery_n, bad = figures
        if bad:
            raise RuntimeError("The invoice summaries do not match the lines (sales.summaries.refresh).")
        key = (customer_sets if is_customer_level else line_sets)[gid]
        if key[1] == "segment":
            value, other = (segment if key[0] == "segment" else value), segment
        counts = (int(lines), int(customers), int(returns), int(special), int(rev), int(cost), int(ar or 0))
        out[key].append((value, other, segment, *counts, int(order_n), int(delivery_n)))
    return out


@dataclass
class ProfitTable:
    """One (dimension, by) table: figures per value, per (value, by_value) cell."""

    dimension: str
    by: str
    values: dict[str, Figures]
    cells: dict[tuple[str, str], Figures]


def compute(data: ProfitInput, settings: ModelSettings) -> dict[tuple[str, str], ProfitTable]:
    """Exact figures of every table of `data` (see module doc), over one common denominator."""
    per_line = Fraction(settings.cost_per_line)
    per_return = Fraction(settings.cost_per_return)
    per_special = Fraction(settings.cost_per_special_order)
    per_order = Fraction(settings.cost_per_order) / data.order_unit
    carrying = Fraction(settings.ar_carrying_rate) / 365 / UNITS
    per_delivery = Fraction(1, data.delivery_unit)
    rates = (per_line, per_return, per_special, per_order, carrying, per_delivery)
    unit = math.lcm(UNITS, *(rate.denominator for rate in rates))
    # Every rate as an integer numerator over `unit`.
    line_n, return_n, special_n, order_n, carrying_n, delivery_n = (int(rate * unit) for rate in rates)
    money_n = unit // UNITS
    tables = {}
    for key, rows in data.rows.items():
        # (value, by_value, segment) -> Figures; then rolled up per value and per cell.
        parts: dict[tuple[str, str, str], Figures] = {}
        for value, other, segment, lines, customers, returns, special, rev, cost, ar, orders, deliveries in rows:
            f = parts[(value, other, segment)] = Figures(unit=unit, lines=lines, customers=customers)
            f.revenue_n = rev * money_n
            f.gross_margin_n = (rev - cost) * money_n
            f.add_cost("lines", lines * line_n)
            f.add_cost("returns", returns * return_n)
            f.add_cost("special_orders", special * special_n)
            f.add_cost("carrying", ar * carrying_n)
            f.add_cost("orders", orders * order_n)
            f.add_cost("deliveries", deliveries * delivery_n)
        tables[key] = _roll_up(key, parts, unit)
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


def _roll_up(key: tuple[str, str], parts: dict, unit: int) -> ProfitTable:
    dimension, by = key
    values: dict[str, Figures] = {}
    cells: dict[tuple[str, str], Figures] = {}
    # Distinct customers of a value: a customer has one segment, so the per-segment counts add up.
    # Across the other dimension's values they do not (unless it is the segment): counted per cell.
    for (value, other, segment), f in parts.items():
        if by == "segment":
            values.setdefault(value, Figures(unit=unit)).add(f, segment)
        cells.setdefault((value, other), Figures(unit=unit)).add(f, segment)
    return ProfitTable(dimension, by, values, cells)


def ordered(values: dict[str, Figures]) -> list[tuple[str, Figures]]:
    """Values by net profit, highest first (ties by value), the whale curve's order."""
    return sorted(values.items(), key=lambda item: (-item[1].net_profit_n, item[0]))


def stored_figures(f: Figures, total_n: int, *, by_segment: bool = True) -> dict:
    """The figures of section 3 as a `ProfitCenter` row stores them (and the API and exports show
    them): money rounded half-even to the cent from the exact sums, the exact sums as fractions, the
    ratios, the share of `total_n` (the net profit the shares are of, over the same unit), net
    profit per segment (`by_segment`: a dimension's value row) and cost-to-serve by share."""
    return {
        "customers": f.customers,
        "lines": f.lines,
        "revenue": cents(f.revenue_n, f.unit),
        "gross_margin": cents(f.gross_margin_n, f.unit),
        "cost_to_serve": cents(f.cost_to_serve_n, f.unit),
        "net_profit": cents(f.net_profit_n, f.unit),
        "net_margin_pct": f.net_margin_pct,
        "net_profit_share": f.share_of(total_n),
        "segment_net_profit": (
            {s: str(cents(f.segment_net_profit_n.get(s, 0), f.unit)) for s in SEGMENTS} if by_segment else {}
        ),
        "exact": {name: f"{getattr(f, name + '_n')}/{f.unit}" for name in MONEY},
        "cost_parts": {part: str(cents(n, f.unit)) for part, n in f.cost_parts_n.items() if n},
    }


CURVE_POINTS = 300  # points of a stored whale curve: enough for a chart, whatever the values


def whale_curve(net_profits: list[int], unit: int, labels: list[str]) -> dict:
    """A dimension's whale curve (section 4) from its values' net profits, highest first, as integer
    numerators over `unit`: the counts, the peak (never below zero: before any value) and how many
    values reach it, the total, what the drains give away, and the curve at most CURVE_POINTS points
    (evenly spaced, plus the peak and the last value) as [position, value, cumulative to the cent]."""
    running, peak, peak_at, cumulative = 0, 0, 0, []
    for position, n in enumerate(net_profits, start=1):
        running += n
        cumulative.append(running)
        if running > peak:
            peak, peak_at = running, position
    count = len(net_profits)
    step = max(1, math.ceil(count / CURVE_POINTS))
    keep = sorted({*range(step, count + 1, step), peak_at, count} - {0})
    return {
        "values": count,
        "centers": sum(1 for n in net_profits if n > 0),
        "drains": sum(1 for n in net_profits if n < 0),
        "peak": cents(peak, unit),
        "peak_at": peak_at,
        "total": cents(running, unit),
        "given_away": cents(peak - running, unit),
        "points": [[p, shown(labels[p - 1]), str(cents(cumulative[p - 1], unit))] for p in keep],
    }


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
