"""Per-customer aggregates of invoice lines, computed by the database (SQL GROUP BY), never by loading
lines into Python.

`customer_aggregates(distributor=, as_of=, window_days=)` returns the two tables of the engine's
contract (`stratify.engine.AGGREGATE_COLUMNS` and `DELIVERY_COLUMNS`), equal to
`stratify.engine.aggregate_lines` on the same lines:

* one scan of the lines up to `as_of` gives every sum and count (window, prior window, first date);
* orders, active months and deliveries come from one temporary table at the grain of (customer,
  invoice, ship method, month) of the window's non-return lines (~1M rows at 10M lines), counted per
  customer (and ship method) with small per-group `count(DISTINCT ...)` sorts;
* products and categories are counted straight from those lines: (customer, product) pairs barely
  shrink them, so the lines are sorted by customer in parallel (Gather Merge) and counted per customer.

Money stays exact: PostgreSQL sums `numeric`. SQLite keeps decimals as REAL, so its sums are taken
over integers in 1/10,000 (the columns' 4 decimal places) and turned back into Decimals here.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from django.db import connection, transaction

from sales.models import Customer, InvoiceLine, Product
from stratify.engine import AGGREGATE_COLUMNS, DELIVERY_COLUMNS

LINES = InvoiceLine._meta.db_table
CUSTOMERS = Customer._meta.db_table
PRODUCTS = Product._meta.db_table
SCALE = Decimal("0.0001")  # SQLite money is summed as integers of this unit


def _pg() -> bool:
    return connection.vendor == "postgresql"


def latest_invoice_date(*, distributor) -> date | None:
    """Default `as_of`: the tenant's latest invoice date (None without lines); uses the date index."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(invoice_date) FROM {LINES} WHERE distributor_id = %s", [distributor.pk])
        value = cursor.fetchone()[0]
    return _as_date(value)


def has_lines(*, distributor) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {LINES} WHERE distributor_id = %s LIMIT 1", [distributor.pk])
        return cursor.fetchone() is not None


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _money(column: str) -> str:
    """SQL for an exact, summable money expression of `column`."""
    if _pg():
        return column
    return f"CAST(round({column} * 10000) AS INTEGER)"


def _to_decimal(value) -> Decimal | None:
    if value is None:
        return None
    if _pg():
        return value if isinstance(value, Decimal) else Decimal(str(value))
    return Decimal(int(value)) * SCALE


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    """Object columns exactly as the driver returned them (no None -> NaN, no Decimal -> float)."""
    data = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({c: pd.Series(list(v), dtype=object) for c, v in zip(columns, data, strict=True)})


def _fetch(sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _frame(rows, columns)


def _sums(params: dict) -> pd.DataFrame:
    """One scan of the tenant's lines up to as_of: every sum, count and date of the contract."""
    window = "l.invoice_date >= %(window_start)s"
    prior = "(l.invoice_date < %(window_start)s AND l.invoice_date >= %(prior_start)s)"
    is_return = "(l.quantity < 0 OR l.revenue < 0)"
    rev, cost = _money("l.revenue"), _money("l.cost")
    special = "l.special_order" if _pg() else "l.special_order = 1"
    sql = f"""
        SELECT c.customer_id, a.window_lines, a.prior_lines, a.revenue, a.prior_revenue, a.gross_margin,
               a.return_lines, a.special_order_lines, a.ar_base, a.first_date, a.last_date,
               {_money("c.potential_annual_spend")}
        FROM (
            SELECT l.customer_id AS cpk,
                   count(CASE WHEN {window} THEN 1 END) AS window_lines,
                   count(CASE WHEN {prior} THEN 1 END) AS prior_lines,
                   coalesce(sum(CASE WHEN {window} THEN {rev} END), 0) AS revenue,
                   coalesce(sum(CASE WHEN {prior} THEN {rev} END), 0) AS prior_revenue,
                   coalesce(sum(CASE WHEN {window} THEN {rev} - {cost} END), 0) AS gross_margin,
                   count(CASE WHEN {window} AND {is_return} THEN 1 END) AS return_lines,
                   count(CASE WHEN {window} AND {special} THEN 1 END) AS special_order_lines,
                   coalesce(sum(CASE WHEN {window} THEN {rev} * l.days_to_pay END), 0) AS ar_base,
                   min(l.invoice_date) AS first_date,
                   max(CASE WHEN {window} THEN l.invoice_date END) AS last_date
            FROM {LINES} l
            WHERE l.distributor_id = %(distributor)s AND l.invoice_date <= %(as_of)s
            GROUP BY l.customer_id
        ) a
        JOIN {CUSTOMERS} c ON c.id = a.cpk
        WHERE a.window_lines > 0 OR a.prior_lines > 0
    """
    columns = [
        "customer_id",
        "window_lines",
        "prior_lines",
        "revenue",
        "prior_revenue",
        "gross_margin",
        "return_lines",
        "special_order_lines",
        "ar_base",
        "first_date",
        "last_date",
        "potential_annual_spend",
    ]
    return _fetch(sql, params, columns)


def _distinct_counts(params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders, products, categories, active months and deliveries over the window's non-return lines."""
    invoices = f"strat_inv_{uuid.uuid4().hex[:12]}"
    month = "date_trunc('month', l.invoice_date::timestamp)" if _pg() else "substr(l.invoice_date, 1, 7)"
    # PostgreSQL drops it at commit even when a statement failed (the transaction is then aborted and
    # no DROP could run); SQLite has no ON COMMIT clause, so it is dropped explicitly.
    temporary = "TEMPORARY TABLE {} ON COMMIT DROP" if _pg() else "TEMPORARY TABLE {}"
    kept = """l.distributor_id = %(distributor)s AND l.invoice_date >= %(window_start)s
               AND l.invoice_date <= %(as_of)s AND l.quantity >= 0 AND l.revenue >= 0"""
    with connection.cursor() as cursor:
        if _pg():
            # The planner prices a Gather of millions of rows above a single-process bitmap scan; measured
            # at 10M lines the parallel seq scans are ~1 s faster per statement. Local to the transaction.
            cursor.execute("SET LOCAL parallel_setup_cost = 0")
            cursor.execute("SET LOCAL parallel_tuple_cost = 0.001")
        try:
            cursor.execute(
                f"""CREATE {temporary.format(invoices)} AS
                    SELECT l.customer_id AS cpk, l.invoice_id, coalesce(l.ship_method, '') AS ship_method,
                           {month} AS month
                    FROM {LINES} l WHERE {kept}
                    GROUP BY l.customer_id, l.invoice_id, coalesce(l.ship_method, ''), {month}""",
                params,
            )
            if _pg():
                cursor.execute(f"ANALYZE {invoices}")
            # Products and categories straight from the lines: (customer, product) pairs barely shrink the
            # lines (3.0M of 3.7M at 10M lines), so a pre-grouped table of them cost more than it saved. The
            # lines are sorted by customer (in parallel under a Gather Merge) and each customer's distinct
            # counts are small in-memory sorts; orders and months likewise over the invoice table.
            cursor.execute(
                f"""
                SELECT c.customer_id, coalesce(o.orders, 0), coalesce(o.months, 0), p.products, p.categories
                FROM (SELECT l.customer_id AS cpk, count(DISTINCT l.product_id) AS products,
                             count(DISTINCT pr.category) AS categories
                      FROM {LINES} l LEFT JOIN {PRODUCTS} pr ON pr.id = l.product_id AND pr.category <> ''
                      WHERE {kept}
                      GROUP BY l.customer_id) p
                JOIN {CUSTOMERS} c ON c.id = p.cpk
                LEFT JOIN (SELECT cpk, count(DISTINCT invoice_id) AS orders, count(DISTINCT month) AS months
                           FROM {invoices} GROUP BY cpk) o ON o.cpk = p.cpk
                """,
                params,
            )
            counts = _frame(cursor.fetchall(), ["customer_id", "orders", "active_months", "products", "categories"])
            cursor.execute(
                f"""
                SELECT c.customer_id, d.ship_method, d.deliveries
                FROM (SELECT cpk, ship_method, count(DISTINCT invoice_id) AS deliveries
                      FROM {invoices} GROUP BY cpk, ship_method) d
                JOIN {CUSTOMERS} c ON c.id = d.cpk
                """
            )
            deliveries = _frame(cursor.fetchall(), list(DELIVERY_COLUMNS))
        finally:
            if not _pg():
                cursor.execute(f"DROP TABLE IF EXISTS {invoices}")
    return counts, deliveries


def customer_aggregates(*, distributor, as_of: date, window_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`(aggregates, deliveries)` of the engine's contract for the tenant's lines (see module doc)."""
    as_of = _as_date(as_of)
    window_days = int(window_days)
    params = {
        "distributor": distributor.pk,
        "as_of": as_of,
        "window_start": as_of - timedelta(days=window_days - 1),
        "prior_start": as_of - timedelta(days=2 * window_days - 1),
    }
    with transaction.atomic():
        if _pg():
            with connection.cursor() as cursor:
                # Big hash aggregates in memory rather than spilled to disk; local to this transaction.
                cursor.execute("SET LOCAL work_mem = '256MB'")
        sums = _sums(params)
        counts, deliveries = _distinct_counts(params)

    for column in ("window_lines", "prior_lines", "return_lines", "special_order_lines"):
        sums[column] = sums[column].astype("int64")
    for column in ("revenue", "prior_revenue", "gross_margin", "ar_base", "potential_annual_spend"):
        sums[column] = pd.Series([_to_decimal(v) for v in sums[column].tolist()], index=sums.index, dtype=object)
    for column in ("first_date", "last_date"):
        sums[column] = pd.Series([_as_date(v) for v in sums[column].tolist()], index=sums.index, dtype=object)
    sums["as_of"] = pd.Series([as_of] * len(sums), index=sums.index, dtype=object)

    aggregates = sums.merge(counts, on="customer_id", how="left")
    for column in ("orders", "products", "categories", "active_months"):
        aggregates[column] = aggregates[column].fillna(0).astype("int64")
    aggregates["customer_id"] = aggregates["customer_id"].astype(object)
    aggregates = aggregates.sort_values("customer_id", kind="stable").reset_index(drop=True)
    aggregates = aggregates[list(AGGREGATE_COLUMNS)]

    deliveries["deliveries"] = deliveries["deliveries"].astype("int64")
    for column in ("customer_id", "ship_method"):
        deliveries[column] = deliveries[column].astype(object)
    deliveries = deliveries.sort_values(["customer_id", "ship_method"], kind="stable").reset_index(drop=True)
    return aggregates, deliveries


def customer_keys(*, distributor) -> dict[str, int]:
    """ERP account number -> customer pk, to write scores under the run."""
    return dict(Customer.objects.filter(distributor=distributor).values_list("customer_id", "pk"))
