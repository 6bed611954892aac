"""Summaries of invoice lines, kept up to date at import time so that runs and pages never scan lines.

Four derived tables, written only here, set-based, inside the caller's transaction (the import's merge):

* `CustomerInvoice`: per (customer, invoice, date, ship method), sums in exact integer units and the
  flags that turn the distinct counts of STRATIFICATION.md into plain counts (see its docstring);
* `CustomerProductRecency`: per (customer, date), how many products had their last kept (non-return)
  line that day (a run's distinct products in its window);
* `CustomerCategory`: per (customer, category), the last date of a kept line;
* `CustomerMonth`: per (customer, calendar month), the sums the pages and trends show.

`refresh` recomputes them for the customers an import names (new lines only add to their own customers)
or for the whole tenant (an updated line may have moved between customers). `refresh_categories`
re-derives `CustomerCategory` after products changed category. At 10M lines a tenant's summaries hold
about 2.9M invoice rows; the 7M (customer, product) pairs are grouped in a temporary table only (see
`CustomerProductRecency`). See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction

from stratify.db import is_postgres

from .models import CustomerCategory, CustomerInvoice, CustomerMonth, CustomerProductRecency, InvoiceLine, Product

DECIMALS = 4  # the money columns' decimal places
UNITS = 10**DECIMALS  # money is summed in integer units of 1/10,000

LINES = InvoiceLine._meta.db_table
INVOICES = CustomerInvoice._meta.db_table
RECENCY = CustomerProductRecency._meta.db_table
CATEGORIES = CustomerCategory._meta.db_table
MONTHS = CustomerMonth._meta.db_table
PRODUCTS = Product._meta.db_table


def _month_sql(expr: str) -> str:
    """SQL for the first day of `expr`'s calendar month (a date on both backends)."""
    return f"CAST(date_trunc('month', {expr}) AS date)" if is_postgres() else f"date({expr}, 'start of month')"


def units_sum(money: str, times: str = "") -> str:
    """SQL for the exact sum of a money column (times an integer column, if given), in integer units.
    PostgreSQL sums `numeric`; SQLite keeps decimals as REAL, so each value is rounded to its units
    before summing."""
    factor = f" * {times}" if times else ""
    if is_postgres():
        return f"CAST(coalesce(sum({money}{factor}), 0) * {UNITS} AS bigint)"
    return f"coalesce(sum(CAST(round({money} * {UNITS}) AS INTEGER){factor}), 0)"


def _money(units_expr: str) -> str:
    """SQL for a Decimal column's value from a sum of units."""
    return f"CAST({units_expr} AS numeric) / {UNITS}" if is_postgres() else f"{units_expr} / {float(UNITS)}"


KEPT = "l.quantity >= 0 AND l.revenue >= 0"  # a non-return line


def refresh(cursor, *, tenant: int, customers: str | None = None) -> None:
    """Recompute every summary of the tenant's customers whose pks the SQL subquery `customers` selects
    (all of the tenant's customers when None), from the invoice lines.

    The lines are grouped into temporary tables first (measured faster than grouping inside each
    INSERT), then inserted in primary-key order, so the indexes grow at their right edge instead of at
    random pages."""
    for table in (INVOICES, RECENCY, CATEGORIES, MONTHS):
        _delete(cursor, table, tenant, customers)
    only = f" AND l.customer_id IN ({customers})" if customers else ""
    invoices, pairs = _temporary_name("inv"), _temporary_name("pairs")
    try:
        _group_invoices(cursor, invoices, tenant, only)
        _insert_invoices(cursor, invoices, tenant)
        _group_pairs(cursor, pairs, tenant, only)
        cursor.execute(
            f"""INSERT INTO {RECENCY} (distributor_id, customer_id, last_kept, products)
                SELECT {tenant}, customer_id, last_kept, count(*) FROM {pairs}
                GROUP BY customer_id, last_kept
                ORDER BY customer_id, last_kept""",
            [],
        )
        _insert_categories(cursor, pairs, tenant)
        _insert_months(cursor, invoices, tenant)
    finally:
        _drop_temporary(cursor, invoices, pairs)
    _analyze(cursor, INVOICES, RECENCY, CATEGORIES, MONTHS)


def refresh_categories(cursor, *, tenant: int) -> None:
    """Re-derive the tenant's `CustomerCategory` (after a products import changed categories): the
    (customer, product) pairs are grouped from the lines again (a products import is rare and small;
    keeping the pairs in a table cost every line import more)."""
    _delete(cursor, CATEGORIES, tenant, None)
    pairs = _temporary_name("pairs")
    try:
        _group_pairs(cursor, pairs, tenant, "")
        _insert_categories(cursor, pairs, tenant)
    finally:
        _drop_temporary(cursor, pairs)
    _analyze(cursor, CATEGORIES)


def refresh_tenant(distributor) -> None:
    """Recompute all of a tenant's summaries in one transaction: for code that wrote lines directly
    (tests, benchmarks, the migration that introduced the summaries)."""
    with transaction.atomic(), connection.cursor() as cursor:
        refresh(cursor, tenant=int(distributor.pk))


def _delete(cursor, table: str, tenant: int, customers: str | None) -> None:
    only = f" AND customer_id IN ({customers})" if customers else ""
    cursor.execute(f"DELETE FROM {table} WHERE distributor_id = {tenant}{only}", [])


def _temporary_name(kind: str) -> str:
    return f"summary_{kind}_{uuid.uuid4().hex[:12]}"


def _temporary(name: str) -> str:
    return f"TEMPORARY TABLE {name} ON COMMIT DROP" if is_postgres() else f"TEMPORARY TABLE {name}"


def _drop_temporary(cursor, *names: str) -> None:
    if not is_postgres():  # PostgreSQL drops them at commit, even after a failed statement
        for name in names:
            cursor.execute(f"DROP TABLE IF EXISTS {name}", [])


def _group_pairs(cursor, name: str, tenant: int, only: str) -> None:
    """Per (customer, product) of the tenant's kept lines, the last date, into temporary table `name`."""
    cursor.execute(
        f"""CREATE {_temporary(name)} AS
            SELECT l.customer_id, l.product_id, max(l.invoice_date) AS last_kept
            FROM {LINES} l WHERE l.distributor_id = {tenant} AND {KEPT}{only}
            GROUP BY l.customer_id, l.product_id""",
        [],
    )
    _analyze(cursor, name)


def _group_invoices(cursor, name: str, tenant: int, only: str) -> None:
    """The tenant's lines summed per (customer, invoice, date, ship method), into temporary table `name`."""
    is_return = "(l.quantity < 0 OR l.revenue < 0)"
    cursor.execute(
        f"""CREATE {_temporary(name)} AS
            SELECT l.customer_id, l.invoice_id, l.invoice_date, l.ship_method,
                   count(*) AS lines,
                   sum(CASE WHEN {is_return} THEN 0 ELSE 1 END) AS kept_lines,
                   sum(CASE WHEN {is_return} THEN 1 ELSE 0 END) AS return_lines,
                   sum(CASE WHEN l.special_order THEN 1 ELSE 0 END) AS special_order_lines,
                   {units_sum("l.revenue")} AS revenue_units,
                   {units_sum("l.cost")} AS cost_units,
                   {units_sum("l.revenue", times="l.days_to_pay")} AS ar_units
            FROM {LINES} l WHERE l.distributor_id = {tenant}{only}
            GROUP BY l.customer_id, l.invoice_id, l.invoice_date, l.ship_method""",
        [],
    )
    _analyze(cursor, name)  # the next statements size their sorts and hash tables from its row count


def _bytewise(expr: str) -> str:
    """`expr` compared byte by byte: PostgreSQL's collation-aware text comparison makes sorts several
    times slower, and only the grouping, not the order, matters here (SQLite compares bytes already)."""
    return f'{expr} COLLATE "C"' if is_postgres() else expr


def _insert_invoices(cursor, grouped: str, tenant: int) -> None:
    """`CustomerInvoice` rows with their flags: one sort, by customer and invoice, serves the window
    over each invoice and the primary-key order of the inserts."""
    kept_date = "CASE WHEN kept_lines > 0 THEN invoice_date END"
    invoice = _bytewise("invoice_id")
    cursor.execute(
        f"""INSERT INTO {INVOICES} (distributor_id, customer_id, invoice_id, invoice_date, ship_method, lines,
                kept_lines, return_lines, special_order_lines, revenue_units, cost_units, ar_units,
                order_lead, multi_date)
            SELECT {tenant}, customer_id, invoice_id, invoice_date, ship_method, lines, kept_lines,
                   return_lines, special_order_lines, revenue_units, cost_units, ar_units,
                   kept_lines > 0
                       AND ship_method = min(CASE WHEN kept_lines > 0 THEN ship_method END) OVER invoice,
                   coalesce(min({kept_date}) OVER invoice <> max({kept_date}) OVER invoice, false)
            FROM {grouped}
            WINDOW invoice AS (PARTITION BY customer_id, {invoice})
            ORDER BY customer_id, {invoice}""",
        [],
    )


def _insert_categories(cursor, pairs: str, tenant: int) -> None:
    """`CustomerCategory` from `pairs` (a table of (customer, product, last_kept) rows) and the products."""
    cursor.execute(
        f"""INSERT INTO {CATEGORIES} (distributor_id, customer_id, category, last_kept)
            SELECT {tenant}, cp.customer_id, p.category, max(cp.last_kept)
            FROM {pairs} cp JOIN {PRODUCTS} p ON p.id = cp.product_id AND p.distributor_id = {tenant}
            WHERE p.category <> ''
            GROUP BY cp.customer_id, p.category
            ORDER BY cp.customer_id, p.category""",
        [],
    )


def _insert_months(cursor, invoices: str, tenant: int) -> None:
    """`CustomerMonth` from `invoices` (a table of (customer, invoice, date, ship method) sums)."""
    # Per invoice first, then per month: "orders" counts distinct invoices, and two plain GROUP BYs
    # hash-aggregate where a COUNT(DISTINCT) would sort.
    cursor.execute(
        f"""INSERT INTO {MONTHS} (distributor_id, customer_id, month, revenue, cost, lines, return_lines,
                kept_lines, orders)
            SELECT {tenant}, customer_id, month, {_money("sum(revenue_units)")}, {_money("sum(cost_units)")},
                   sum(lines), sum(return_lines), sum(kept_lines), count(*)
            FROM (SELECT customer_id, {_month_sql("invoice_date")} AS month,
                         sum(revenue_units) AS revenue_units, sum(cost_units) AS cost_units,
                         sum(lines) AS lines, sum(return_lines) AS return_lines, sum(kept_lines) AS kept_lines
                  FROM {invoices} AS ci GROUP BY customer_id, month, {_bytewise("invoice_id")}) AS per_invoice
            GROUP BY customer_id, month
            ORDER BY customer_id, month""",
        [],
    )


def _analyze(cursor, *tables: str) -> None:
    """Fresh planner statistics for the tables just rewritten (cheap: ANALYZE samples)."""
    if is_postgres():
        for table in tables:
            cursor.execute(f"ANALYZE {table}", [])
