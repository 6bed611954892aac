"""Profit centers (docs PROFIT_CENTERS.md): a run's revenue, gross margin, cost-to-serve and net profit
cut along every dimension the business sells through, exact until shown.

Reading (`read_profit_input`, inside the run's snapshot, after the engine has given each active
customer its segment) copies the window's lines into an in-process DuckDB database and groups them
there: per dimension value and segment the money sums (exact integer units of 1/10,000) and counts,
and the two shares of a line that are divided (an order's cost over its `k` non-return lines, a
delivery's over its `m`) as integer numerators over a common denominator, in one GROUPING SETS pass.
`compute` turns those few rows into exact figures over one denominator, so a value's cost-to-serve is
the exact sum of its lines' shares, and the values of any dimension add up to the run's totals exactly.

Nothing here writes: `segments.services.profit_writer` stores the rows under the run.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd
from django.conf import settings as django_settings
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


def cents(value: Fraction | Decimal | int, denominator: int = 1) -> Decimal:
    """An exact amount (or the numerator of one over `denominator`) rounded half-even to the cent (for
    display, storage and export)."""
    if isinstance(value, int):  # the common case: an integer numerator (Figures), no Fraction to build
        numerator = value
    else:
        value = Fraction(value)
        numerator, denominator = value.numerator, value.denominator * denominator
    quotient, remainder = divmod(numerator * 100, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return Decimal(quotient).scaleb(-2)


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


def _line_select(*, some_customers: bool = False, raw: bool = False) -> str:
    """SQL of the window's lines as the profit centers read them: the dimensions' keys, money in
    integer units, the return and special-order flags (params of `_params`); `some_customers`: only
    the lines of the customers the segments name (a slice), else all (the join on the segments keeps
    the active customers' lines). `raw`: the stored quantity, money, flag and days instead of the
    computed columns (see `_RAW_LINE_SELECT`)."""
    only = ""
    if some_customers:
        only = (
            "AND l.customer_id = ANY(%(seg_cpk)s::bigint[])"
            if is_postgres()
            else "AND l.customer_id IN (SELECT CAST(key AS INTEGER) FROM json_each(%(seg_json)s))"
        )
    is_return = "(l.quantity < 0 OR l.revenue < 0)"
    special = "l.special_order" if is_postgres() else "l.special_order = 1"
    computed = f"""
               CASE WHEN {is_return} THEN 1 ELSE 0 END AS ret,
               CASE WHEN {special} THEN 1 ELSE 0 END AS special,
               {_units("l.revenue")} AS revenue_units, {_units("l.cost")} AS cost_units,
               coalesce({_units("l.revenue")} * l.days_to_pay, 0) AS ar_units"""
    if raw:
        computed = "l.quantity, l.revenue, l.cost, l.special_order, l.days_to_pay"
    return f"""
        SELECT l.customer_id AS cpk, l.invoice_id, l.ship_method, l.product_id, l.branch, l.channel,
               l.rep_id, l.partner_id, {computed}
        FROM {InvoiceLine._meta.db_table} l
        WHERE l.distributor_id = %(distributor)s AND l.invoice_date >= %(window_start)s
          AND l.invoice_date <= %(as_of)s {only}"""


# The windows giving each non-return line its `k` (the non-return lines of its invoice) and `m` (of its
# invoice and ship method), over one sort of the window's lines rather than joins (the per-table SQL).
_K_AND_M = """
    CASE WHEN ret = 0 THEN sum(1 - ret) OVER (PARTITION BY cpk, invoice_id) END AS k,
    CASE WHEN ret = 0 THEN sum(1 - ret) OVER (PARTITION BY cpk, invoice_id, ship_method) END AS m"""
# The same `k` and `m` in DuckDB, whose hash aggregates and joins are 2-4x faster than the two sorts of
# the windows at 10M lines.
_K_AND_M_HASHED = """
    WITH ik AS (SELECT cpk, invoice_id, sum(1 - ret) AS k FROM l GROUP BY cpk, invoice_id),
         im AS (SELECT cpk, invoice_id, ship_method, sum(1 - ret) AS m FROM l GROUP BY cpk, invoice_id, ship_method)
    SELECT l.*, CASE WHEN l.ret = 0 THEN ik.k END AS k, CASE WHEN l.ret = 0 THEN im.m END AS m
    FROM l JOIN ik USING (cpk, invoice_id) JOIN im USING (cpk, invoice_id, ship_method)"""


def _window_lines_sql() -> str:
    """The CTEs `l` (the window's lines, `_line_select`) and `w` (with their `k` and `m`)."""
    return f"""
        l AS ({_line_select()}),
        w AS (SELECT l.*, {_K_AND_M} FROM l)"""


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
    *,
    distributor,
    as_of: date,
    window_days: int,
    segments: dict[int, str],
    settings: ModelSettings,
    some_customers: bool = False,
) -> ProfitInput:
    """The grouped rows every profit-center figure is computed from (run inside the run's snapshot).
    `segments`: customer pk -> segment of every active customer, or (`some_customers`, a slice) of some
    of them, whose lines alone are then read.

    The columnar reader (`_read_columnar`: the window's lines copied into DuckDB, one GROUPING SETS
    pass in exact 128-bit integers) serves both backends; when the exact numerators could outgrow
    128 bits (invoices of very many different line counts), `_read_per_table` sums exact Fractions in
    two GROUP BYs per table instead. Both give the same rows; the tests run each against the naive
    reference."""
    params = _params(distributor, as_of, window_days, segments)
    data = _read_columnar(params, segments, settings, some_customers=some_customers)
    return data if data is not None else _read_per_table(params, settings)


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


# DuckDB's HUGEINT holds exact integers below 2**127: the columnar reader is used while every sum of
# its numerators stays below this bound, and the per-table reader (exact Fractions) beyond it.
COLUMNAR_LIMIT = 2**120

# The small tables the dimensions are looked up in, each read for one distributor: name -> (SQL,
# DuckDB columns). Text columns are read as '' when empty, so that '' and NULL group together.
_LOOKUPS: dict[str, tuple[str, str]] = {
    "customers": (
        f"""SELECT id, coalesce(customer_class, ''), coalesce(supply_chain_role, ''), coalesce(industry, ''),
                   coalesce(region, ''), coalesce(branch, ''), rep_id
            FROM {Customer._meta.db_table} WHERE distributor_id = %(distributor)s""",
        "id BIGINT, customer_class VARCHAR, supply_chain_role VARCHAR, industry VARCHAR, region VARCHAR, "
        "branch VARCHAR, rep_id BIGINT",
    ),
    "products": (
        f"""SELECT id, coalesce(category, ''), coalesce(brand, ''), coalesce(supplier_id, ''),
                   coalesce(product_id, '')
            FROM {Product._meta.db_table} WHERE distributor_id = %(distributor)s""",
        "id BIGINT, category VARCHAR, brand VARCHAR, supplier_id VARCHAR, product_id VARCHAR",
    ),
    "reps": (
        f"SELECT id, rep_id FROM {Rep._meta.db_table} WHERE distributor_id = %(distributor)s",
        "id BIGINT, rep_id VARCHAR",
    ),
    "partners": (
        f"SELECT id, partner_id FROM {Partner._meta.db_table} WHERE distributor_id = %(distributor)s",
        "id BIGINT, partner_id VARCHAR",
    ),
}
_LINE_COLUMNS = (
    "cpk BIGINT, invoice_id VARCHAR, ship_method VARCHAR, product_id BIGINT, branch VARCHAR, channel VARCHAR, "
    "rep_id BIGINT, partner_id BIGINT, ret INTEGER, special INTEGER, revenue_units BIGINT, cost_units BIGINT, "
    "ar_units BIGINT"
)


def _into_duckdb(
    duck, name: str, sql: str, params: dict, columns: str, directory: str, *, csv: tuple[str, str, str] | None = None
) -> None:
    """Table `name` (`columns`) in DuckDB with the rows of `sql` run on the project's database, in its
    transaction (the run's snapshot): on PostgreSQL by COPY ... TO STDOUT in CSV, which DuckDB parses
    in parallel (a tenth of the time of fetching the rows into Python); on SQLite by fetching them.
    `csv`: on PostgreSQL, (the SQL to COPY instead, its columns, DuckDB's SELECT list turning them
    into `columns`): raw columns cost PostgreSQL less to write than computed ones."""
    duck.execute(f"CREATE TABLE {name} ({columns})")
    with connection.cursor() as cursor:
        if is_postgres():
            select = "*"
            if csv is not None:
                sql, columns, select = csv
            path = os.path.join(directory, f"{name}.csv")
            with open(path, "wb") as out, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                for block in copy:
                    out.write(block)
            # PostgreSQL's CSV as it writes it (nothing to sniff): an unquoted empty field is NULL, a
            # quoted one ("") the empty text.
            if os.path.getsize(path):
                duck.execute(
                    f"INSERT INTO {name} SELECT {select} FROM read_csv(?, auto_detect = false, header = false, "
                    f"delim = ',', quote = '\"', escape = '\"', columns = {_csv_columns(columns)}, "
                    "allow_quoted_nulls = false)",
                    [path],
                )
            os.remove(path)
            return
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows:
        _insert_frame(duck, name, pd.DataFrame.from_records(rows, columns=[c.split()[0] for c in columns.split(", ")]))


def _insert_frame(duck, name: str, frame: pd.DataFrame) -> None:
    duck.register("frame", frame)
    duck.execute(f"INSERT INTO {name} SELECT * FROM frame")
    duck.unregister("frame")


# The window's lines as PostgreSQL copies them out (`_line_select(raw=True)`) and the SELECT list that
# turns them into `_LINE_COLUMNS` in DuckDB: the same flags and exact integer units as `_line_select`
# computes in SQL (money has 4 decimals: times UNITS it is an integer), at a third less of PostgreSQL's
# time at 10M lines.
_RAW_LINE_COLUMNS = (
    "cpk BIGINT, invoice_id VARCHAR, ship_method VARCHAR, product_id BIGINT, branch VARCHAR, channel VARCHAR, "
    "rep_id BIGINT, partner_id BIGINT, quantity DECIMAL(18,4), revenue DECIMAL(18,4), cost DECIMAL(18,4), "
    "special_order BOOLEAN, days_to_pay INTEGER"
)
_RAW_LINE_SELECT = f"""
    cpk, invoice_id, ship_method, product_id, branch, channel, rep_id, partner_id,
    CASE WHEN quantity < 0 OR revenue < 0 THEN 1 ELSE 0 END, CASE WHEN special_order THEN 1 ELSE 0 END,
    CAST(revenue * {UNITS} AS BIGINT), CAST(cost * {UNITS} AS BIGINT),
    coalesce(CAST(revenue * {UNITS} AS BIGINT) * days_to_pay, 0)"""


def _csv_columns(columns: str) -> str:
    """DuckDB's `columns` option (a struct literal) for a table's 'name TYPE, ...' columns."""
    pairs = (column.split() for column in columns.split(", "))
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in pairs) + "}"


def _read_columnar(
    params: dict, segments: dict[int, str], settings: ModelSettings, *, some_customers: bool = False
) -> ProfitInput | None:
    """Every table from one columnar pass over the window's lines (both backends), or None when the
    exact numerators could outgrow DuckDB's 128-bit integers (the caller then reads per table).

    The window's lines and the lookup tables are copied into an in-process DuckDB database (why
    DuckDB: README, "Stack"); there each non-return line gets its `k` and `m`, and its order share's
    numerator `L_k / k` and delivery share's `rate * L_m / m`: integers over the common denominators
    `L_k` and `L_m` (the lcm of the window's `k`, of its `m`) times the rates' scale. A first GROUPING
    SETS pass sums them per customer and line-level value (so a value's customers are a plain count),
    with each customer's totals; then those rows are summed per value and segment, and the customers'
    totals per customer-level value and segment. Same rows as `_read_per_table`."""
    import duckdb  # a runtime dependency of the profit-centers job only

    rates, default = _rates(settings)
    scale = math.lcm(1, *(r.denominator for r in (*rates.values(), default)))
    top_rate = int(max((*rates.values(), default)) * scale)
    with tempfile.TemporaryDirectory(prefix="stratify-profit-") as directory:
        # Bounded memory (spilling to the temporary directory beyond it; no insertion order to keep,
        # which lets it spill more), the machine's cores, nothing printed.
        config = {
            "memory_limit": django_settings.PROFIT_CENTERS_MEMORY,
            "temp_directory": directory,
            "preserve_insertion_order": False,
        }
        duck = duckdb.connect(config=config)
        try:
            duck.execute("SET enable_progress_bar = false")
            _into_duckdb(
                duck,
                "l",
                _line_select(some_customers=some_customers),
                params,
                _LINE_COLUMNS,
                directory,
                csv=(_line_select(some_customers=some_customers, raw=True), _RAW_LINE_COLUMNS, _RAW_LINE_SELECT),
            )
            for name, (sql, columns) in _LOOKUPS.items():
                _into_duckdb(duck, name, sql, params, columns, directory)
            duck.execute("CREATE TABLE seg (cpk BIGINT, segment VARCHAR)")
            if segments:
                _insert_frame(duck, "seg", pd.DataFrame({"cpk": list(segments), "segment": list(segments.values())}))
            duck.execute(f"CREATE TABLE w AS {_K_AND_M_HASHED}")
            duck.execute("DROP TABLE l")
            lines, lk, lm = duck.execute(
                "SELECT count(*), list(DISTINCT k), list(DISTINCT m) FROM w WHERE ret = 0"
            ).fetchone()
            lk, lm = math.lcm(1, *(lk or [])), math.lcm(1, *(lm or []))
            wide = max(lk, lm * max(top_rate, 1)) * max(lines, 1)
            if wide >= COLUMNAR_LIMIT:
                return None
            grouped = duck.execute(_columnar_sql(rates, scale, default, lk, lm, wide)).fetchall()
        except duckdb.OutOfMemoryException as error:
            raise MemoryError(
                f"The profit centers need more than PROFIT_CENTERS_MEMORY={config['memory_limit']} "
                f"for this tenant's lines: raise it (see the README, 'Why DuckDB'). {error}"
            ) from error
        finally:
            duck.close()
    return ProfitInput(rows=_tables_from_one_pass(grouped), order_unit=lk, delivery_unit=lm * scale)


def _columnar_sql(rates: dict[str, Fraction], scale: int, default: Fraction, lk: int, lm: int, wide: int) -> str:
    """DuckDB's query of `_read_columnar` over its tables `w`, `seg` and the lookups. The numbers are
    integers written as literals; the ship methods are quoted as SQL strings. `wide`: a bound of the
    sums of the numerators."""

    def text(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    when = " ".join(f"WHEN {text(ship)} THEN {int(rates[ship] * scale)}" for ship in rates)
    rate = f"CASE w.ship_method {when} ELSE {int(default * scale)} END" if rates else str(int(default * scale))
    # 64-bit numerators while every sum fits them (faster), else 128-bit ones.
    kind = "BIGINT" if wide < 2**62 else "HUGEINT"
    lk_, lm_ = f"CAST('{lk}' AS {kind})", f"CAST('{lm}' AS {kind})"
    line_list = ", ".join(LINE_DIMENSIONS)
    # The value of a first-pass row (and the pair's second value): the column its set grouped.
    value = " ".join(f"WHEN {_gid(d)} THEN {d}" for d in LINE_DIMENSIONS)
    value += " " + " ".join(f"WHEN {_gid(a, b)} THEN {a}" for a, b in PAIRS)
    other = " ".join(f"WHEN {_gid(a, b)} THEN {b}" for a, b in PAIRS)
    inner_sets = ", ".join([*(f"({d})" for d in LINE_DIMENSIONS), *(f"({a}, {b})" for a, b in PAIRS), "()"])
    customer_list = ", ".join(CUSTOMER_DIMENSIONS)
    customer_value = " ".join(f"WHEN {_customer_gid(d)} THEN {d}" for d in CUSTOMER_DIMENSIONS)
    sums = """count(*), sum(lines), sum(returns), sum(special), sum(revenue_units), sum(cost_units),
              sum(ar_units), sum(order_n), sum(delivery_n), 0"""
    return f"""
        WITH x AS (
            SELECT w.cpk, seg.segment,
                   {", ".join(f"coalesce({DIMENSIONS[d][1]}, '') AS {d}" for d in LINE_DIMENSIONS)},
                   w.ret, w.special, w.revenue_units, w.cost_units, w.ar_units,
                   CASE WHEN w.ret = 0 THEN {lk_} // w.k END AS order_n,
                   CASE WHEN w.ret = 0 THEN {rate} * ({lm_} // w.m) END AS delivery_n
            FROM w {_COLUMNAR_JOINS}
        ),
        g AS MATERIALIZED (
            SELECT cpk, segment, GROUPING({line_list}) AS gid,
                   CASE GROUPING({line_list}) {value} END AS value,
                   CASE GROUPING({line_list}) {other} END AS other,
                   count(*) AS lines, sum(ret) AS returns, sum(special) AS special,
                   sum(revenue_units) AS revenue_units, sum(cost_units) AS cost_units,
                   sum(ar_units) AS ar_units, coalesce(sum(order_n), 0) AS order_n,
                   coalesce(sum(delivery_n), 0) AS delivery_n
            FROM x
            GROUP BY cpk, segment, GROUPING SETS ({inner_sets})
        ),
        totals AS (
            SELECT g.*, {", ".join(f"coalesce({DIMENSIONS[d][1]}, '') AS {d}" for d in CUSTOMER_DIMENSIONS)}
            FROM g JOIN customers c ON c.id = g.cpk LEFT JOIN reps ar ON ar.id = c.rep_id
            WHERE g.gid = {CUSTOMER_TOTALS}
        )
        SELECT FALSE, gid, segment, value, other, {sums}
        FROM g GROUP BY gid, segment, value, other
        UNION ALL
        SELECT TRUE, GROUPING({customer_list}), segment, CASE GROUPING({customer_list}) {customer_value} END,
               NULL, {sums}
        FROM totals GROUP BY segment, GROUPING SETS ({", ".join(f"({d})" for d in CUSTOMER_DIMENSIONS)})"""


# `_dimension_joins` in DuckDB, over the lookup tables already filtered to the distributor.
_COLUMNAR_JOINS = """
    JOIN seg ON seg.cpk = w.cpk
    JOIN customers c ON c.id = w.cpk
    JOIN products p ON p.id = w.product_id
    LEFT JOIN reps lr ON lr.id = w.rep_id
    LEFT JOIN reps ar ON ar.id = c.rep_id
    LEFT JOIN partners pa ON pa.id = w.partner_id"""


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
            costs = {
                "lines": lines * line_n,
                "returns": returns * return_n,
                "special_orders": special * special_n,
                "carrying": ar * carrying_n,
                "orders": orders * order_n,
                "deliveries": deliveries * delivery_n,
            }
            parts[(value, other, segment)] = Figures(
                unit=unit,
                lines=lines,
                customers=customers,
                revenue_n=rev * money_n,
                gross_margin_n=(rev - cost) * money_n,
                cost_to_serve_n=sum(costs.values()),
                cost_parts_n=costs,
            )
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
