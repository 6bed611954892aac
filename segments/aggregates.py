"""Per-customer aggregates of invoice lines, computed by the database (SQL GROUP BY) from the line
summaries kept up to date at import time (`sales.summaries`), never by loading lines into Python.

`customer_aggregates(distributor=, as_of=, window_days=)` returns the two tables of the engine's
contract (`stratify.engine.AGGREGATE_COLUMNS` and `DELIVERY_COLUMNS`), equal to
`stratify.engine.aggregate_lines` on the same lines. At 10M lines a run reads ~2.9M invoice rows and
~7M (customer, product) pairs instead of ten million lines, and in the usual case only a handful of
rows is sorted for a DISTINCT:

* one scan of `CustomerInvoice` up to `as_of`, grouped by customer and ship method, gives every sum and
  count, the deliveries per ship method and the orders as plain counts of flagged rows (a (customer,
  invoice) whose kept rows share one date is in the window with its one `order_lead` row); the rare
  invoices whose kept lines span dates are counted apart with `count(DISTINCT ...)` over just their rows;
* active months: the window's first month and as_of's month, which the window may cover in part, are
  checked in the same scan; the months between them from `CustomerMonth.kept_lines`;
* products and categories count the (customer, product | category) pairs whose last kept date falls
  in the window: exact when no line is dated after `as_of` (the default `as_of` is the latest invoice
  date). A run as of an earlier date counts them from the window's lines instead.

Money stays exact: the summaries hold integer units of 1/10,000, summed as integers and turned into
Decimals here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from django.db import connection

from sales.models import (
    Customer,
    CustomerCategory,
    CustomerInvoice,
    CustomerMonth,
    CustomerProductRecency,
    InvoiceLine,
    Product,
)
from sales.summaries import DECIMALS, UNITS
from stratify.db import is_postgres, read_snapshot
from stratify.engine import AGGREGATE_COLUMNS, DELIVERY_COLUMNS
from stratify.engine.aggregate import as_date
from stratify.jobs.models import Job

LINES = InvoiceLine._meta.db_table
INVOICES = CustomerInvoice._meta.db_table
RECENCY = CustomerProductRecency._meta.db_table
CATEGORIES = CustomerCategory._meta.db_table
MONTHS = CustomerMonth._meta.db_table
CUSTOMERS = Customer._meta.db_table
PRODUCTS = Product._meta.db_table

COUNTS = ("window_lines", "prior_lines", "return_lines", "special_order_lines", "orders", "active_months")
MONEY_UNITS = ("revenue", "prior_revenue", "gross_margin", "ar_base")


def latest_invoice_date(*, distributor) -> date | None:
    """Default `as_of`: the tenant's latest invoice date (None without lines); uses the date index."""
    return _edge_invoice_date(distributor, "max")


def first_invoice_date(*, distributor) -> date | None:
    """The tenant's first invoice date (None without lines): the earliest `as_of` a run may take."""
    return _edge_invoice_date(distributor, "min")


def _edge_invoice_date(distributor, edge: str) -> date | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {edge}(invoice_date) FROM {LINES} WHERE distributor_id = %s", [distributor.pk])
        value = cursor.fetchone()[0]
    return None if value is None else as_date(value)


def has_lines(*, distributor) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {LINES} WHERE distributor_id = %s LIMIT 1", [distributor.pk])
        return cursor.fetchone() is not None


def _fetch(sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)


def _flag(column: str, value: bool = True) -> str:
    """SQL testing a boolean column (SQLite stores booleans as 0/1)."""
    if is_postgres():
        return column if value else f"NOT {column}"
    return f"{column} = {int(value)}"


# What the scan of the invoice summaries returns per (customer pk, ship method).
_SUMS = ("window_lines", "prior_lines", "revenue", "prior_revenue", "gross_margin", "return_lines")
_SUMS += ("special_order_lines", "ar_base", "deliveries", "orders")
_ANY = ("first_month_active", "last_month_active")
_PER_SHIP = ("cpk", "ship_method", *_SUMS, *_ANY, "first_date", "last_date")


def _per_ship_method(params: dict) -> pd.DataFrame:
    """One scan of the tenant's invoice summaries up to as_of, per (customer, ship method)."""
    window = "ci.invoice_date >= %(window_start)s"
    prior = "(ci.invoice_date < %(window_start)s AND ci.invoice_date >= %(prior_start)s)"
    single = _flag("ci.multi_date", False)

    def total(condition: str, expr: str) -> str:
        # PostgreSQL sums integers into numeric: cast back so the driver returns ints (exact either way).
        summed = f"sum(CASE WHEN {condition} THEN {expr} ELSE 0 END)"
        return f"CAST({summed} AS bigint)" if is_postgres() else summed

    def count(condition: str) -> str:
        return f"count(CASE WHEN {condition} THEN 1 END)"

    sql = f"""
        SELECT ci.customer_id, ci.ship_method,
               {total(window, "ci.lines")}, {total(prior, "ci.lines")},
               {total(window, "ci.revenue_units")}, {total(prior, "ci.revenue_units")},
               {total(window, "ci.revenue_units - ci.cost_units")},
               {total(window, "ci.return_lines")}, {total(window, "ci.special_order_lines")},
               {total(window, "ci.ar_units")},
               {count(f"{window} AND ci.kept_lines > 0 AND {single}")},
               {count(f"{window} AND {_flag('ci.order_lead')} AND {single}")},
               max(CASE WHEN {window} AND ci.kept_lines > 0 AND ci.invoice_date < %(second_month)s
                        THEN 1 ELSE 0 END),
               max(CASE WHEN ci.kept_lines > 0 AND ci.invoice_date >= %(last_month)s THEN 1 ELSE 0 END),
               min(ci.invoice_date), max(CASE WHEN {window} THEN ci.invoice_date END)
        FROM {INVOICES} ci
        WHERE ci.distributor_id = %(distributor)s AND ci.invoice_date <= %(as_of)s
        GROUP BY ci.customer_id, ci.ship_method
    """
    frame = _fetch(sql, params, list(_PER_SHIP))
    for column in ("cpk", *_SUMS, *_ANY):
        frame[column] = frame[column].astype("int64")
    for column in ("first_date", "last_date"):
        frame[column] = pd.to_datetime(frame[column])
    frame["ship_method"] = frame["ship_method"].astype(object)
    return frame


def _middle_months(params: dict) -> pd.Series:
    """Per customer pk, the active months wholly inside the window but for as_of's own month: the
    month summaries' months with kept lines."""
    frame = _fetch(
        f"""SELECT m.customer_id, count(*) FROM {MONTHS} m
            WHERE m.distributor_id = %(distributor)s AND m.month >= %(second_month)s
              AND m.month < %(last_month)s AND m.kept_lines > 0
            GROUP BY m.customer_id""",
        params,
        ["cpk", "months"],
    )
    return frame.astype("int64").set_index("cpk")["months"]


def multi_date_invoices(params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders and deliveries of the invoices whose kept lines span dates (partial index; usually none),
    per customer pk, in the window from `window_start` to `as_of` (also read by the alerts' cost parts)."""
    where = f"""ci.distributor_id = %(distributor)s AND {_flag("ci.multi_date")} AND ci.kept_lines > 0
                AND ci.invoice_date >= %(window_start)s AND ci.invoice_date <= %(as_of)s"""
    orders = _fetch(
        f"""SELECT ci.customer_id, count(DISTINCT ci.invoice_id) FROM {INVOICES} ci WHERE {where}
            GROUP BY ci.customer_id""",
        params,
        ["cpk", "orders"],
    )
    deliveries = _fetch(
        f"""SELECT ci.customer_id, ci.ship_method, count(DISTINCT ci.invoice_id) FROM {INVOICES} ci WHERE {where}
            GROUP BY ci.customer_id, ci.ship_method""",
        params,
        ["cpk", "ship_method", "deliveries"],
    )
    return orders, deliveries


def _products_and_categories(params: dict, *, from_pairs: bool) -> pd.DataFrame:
    """Per customer pk, the distinct products and categories of the window's kept lines.

    From the summaries when no line is dated after as_of: a (customer, product | category) pair then has
    a kept line in the window exactly when its last kept date falls in it, so the products are the sum
    of `CustomerProductRecency.products` from the window's start, and the categories a count of
    `CustomerCategory`. Otherwise (a run as of an earlier date) a pair's dates could straddle the
    window, and the lines are counted instead."""
    if from_pairs:
        in_window = "p.distributor_id = %(distributor)s AND p.last_kept >= %(window_start)s"
        # A customer with a category in the window has a product in it: LEFT JOIN from the products.
        sql = f"""SELECT pp.cpk, pp.n, coalesce(pc.n, 0)
                  FROM (SELECT p.customer_id AS cpk, sum(p.products) AS n FROM {RECENCY} p WHERE {in_window}
                        GROUP BY p.customer_id) pp
                  LEFT JOIN (SELECT p.customer_id AS cpk, count(*) AS n FROM {CATEGORIES} p WHERE {in_window}
                             GROUP BY p.customer_id) pc ON pc.cpk = pp.cpk"""
    else:
        sql = f"""SELECT l.customer_id, count(DISTINCT l.product_id), count(DISTINCT pr.category)
                  FROM {LINES} l LEFT JOIN {PRODUCTS} pr ON pr.id = l.product_id AND pr.category <> ''
                  WHERE l.distributor_id = %(distributor)s AND l.invoice_date >= %(window_start)s
                    AND l.invoice_date <= %(as_of)s AND l.quantity >= 0 AND l.revenue >= 0
                  GROUP BY l.customer_id"""
    frame = _fetch(sql, params, ["cpk", "products", "categories"])
    return frame.astype("int64").set_index("cpk")


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def customer_aggregates(*, distributor, as_of: date, window_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`(aggregates, deliveries)` of the engine's contract for the tenant's lines (see module doc)."""
    as_of = as_date(as_of)
    window_days = int(window_days)
    window_start = as_of - timedelta(days=window_days - 1)
    # Active months: the window's first month and as_of's month are checked day by day in the invoice
    # summaries; the months between them (whole in the window) in the month summaries.
    second_month = _first_of_next_month(window_start)
    params = {
        "distributor": distributor.pk,
        "as_of": as_of,
        "window_start": window_start,
        "prior_start": as_of - timedelta(days=2 * window_days - 1),
        "second_month": second_month,
        "last_month": max(as_of.replace(day=1), second_month),
    }
    with read_snapshot():  # one snapshot for every statement (see stratify.db.read_snapshot)
        if is_postgres():
            with connection.cursor() as cursor:
                # Hash aggregates in memory rather than spilled to disk; local to this transaction.
                cursor.execute("SET LOCAL work_mem = '256MB'")
        latest = latest_invoice_date(distributor=distributor)
        per_ship = _per_ship_method(params)
        middle_months = _middle_months(params)
        multi_orders, multi_deliveries = multi_date_invoices(params)
        items = _products_and_categories(params, from_pairs=latest is not None and latest <= as_of)
        customers = _customers(distributor)
    return _assemble(per_ship, middle_months, multi_orders, multi_deliveries, items, customers, as_of=as_of)


def _customers(distributor) -> pd.DataFrame:
    """The tenant's customers by pk: ERP id and potential annual spend in integer units (exact on both
    backends)."""
    units = (
        f"CAST(potential_annual_spend * {UNITS} AS bigint)"
        if is_postgres()
        else f"CAST(round(potential_annual_spend * {UNITS}) AS INTEGER)"
    )
    frame = _fetch(
        f"SELECT id, customer_id, {units} FROM {CUSTOMERS} WHERE distributor_id = %(distributor)s",
        {"distributor": distributor.pk},
        ["cpk", "customer_id", "potential_units"],
    )
    return frame.set_index("cpk")


def _decimal(units) -> Decimal | None:
    """The exact Decimal of an amount in integer units (None stays None)."""
    if units is None or units != units:  # None or NaN
        return None
    return Decimal(int(units)).scaleb(-DECIMALS)


def _decimals(values: pd.Series) -> pd.Series:
    return pd.Series([_decimal(v) for v in values.tolist()], index=values.index, dtype=object)


def _dates(values: pd.Series) -> pd.Series:
    return pd.Series([None if pd.isna(v) else v.date() for v in values.tolist()], index=values.index, dtype=object)


def _assemble(
    per_ship, middle_months, multi_orders, multi_deliveries, items, customers, *, as_of
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roll the per-ship-method rows up per customer (whole columns, grouped by integer pk) and shape
    the engine's tables."""
    grouped = per_ship.groupby("cpk", sort=False)
    sums = grouped[list(_SUMS)].sum()
    for column in _ANY:
        sums[column] = grouped[column].max()
    sums["first_date"] = grouped["first_date"].min()
    sums["last_date"] = grouped["last_date"].max()
    sums = sums[(sums["window_lines"] > 0) | (sums["prior_lines"] > 0)].copy()
    middle = middle_months.reindex(sums.index, fill_value=0)
    sums["active_months"] = sums["first_month_active"] + middle + sums["last_month_active"]
    extra_orders = multi_orders.set_index("cpk")["orders"].astype("int64").reindex(sums.index, fill_value=0)
    sums["orders"] = sums["orders"] + extra_orders
    items = items.reindex(sums.index, fill_value=0)
    known = customers.reindex(sums.index)

    out = pd.DataFrame({"customer_id": known["customer_id"].astype(object)}, index=sums.index)
    for column in COUNTS:
        out[column] = sums[column].astype("int64")
    for column in ("products", "categories"):
        out[column] = items[column].astype("int64")
    for column in MONEY_UNITS:
        out[column] = _decimals(sums[column])
    out["first_date"] = _dates(sums["first_date"])
    out["last_date"] = _dates(sums["last_date"])
    out["as_of"] = pd.Series([as_of] * len(out), index=out.index, dtype=object)
    out["potential_annual_spend"] = _decimals(known["potential_units"])
    aggregates = out.sort_values("customer_id", kind="stable").reset_index(drop=True)[list(AGGREGATE_COLUMNS)]

    deliveries = pd.concat([per_ship[["cpk", "ship_method", "deliveries"]], multi_deliveries], ignore_index=True)
    deliveries = deliveries[deliveries["cpk"].isin(sums.index)]
    deliveries["deliveries"] = deliveries["deliveries"].astype("int64")
    deliveries = deliveries.groupby(["cpk", "ship_method"], sort=False, as_index=False)["deliveries"].sum()
    deliveries = deliveries[deliveries["deliveries"] > 0]
    deliveries.insert(0, "customer_id", customers["customer_id"].reindex(deliveries["cpk"]).to_numpy())
    deliveries = deliveries.sort_values(["customer_id", "ship_method"], kind="stable").reset_index(drop=True)
    for column in ("customer_id", "ship_method"):
        deliveries[column] = deliveries[column].astype(object)
    return aggregates, deliveries[list(DELIVERY_COLUMNS)]


def customer_keys(*, distributor) -> dict[str, int]:
    """ERP account number -> customer pk, to write scores under the run."""
    return dict(Customer.objects.filter(distributor=distributor).values_list("customer_id", "pk"))


@dataclass
class RunInput:
    """Everything a run reads, from one snapshot of the database (see `read_run_input`)."""

    as_of: date
    aggregates: pd.DataFrame
    deliveries: pd.DataFrame
    customer_keys: dict[str, int]
    # Which data the run saw: the newest invoice date and the last import that had committed.
    data_seen: dict


def read_run_input(*, distributor, as_of: date | None, window_days: int) -> RunInput | None:
    """A run's whole input read in one REPEATABLE READ snapshot, so an import committing meanwhile is
    either entirely in it or entirely out of it. None when the tenant has no invoice lines."""
    with read_snapshot():
        latest = latest_invoice_date(distributor=distributor)
        if latest is None:
            return None
        as_of = as_date(as_of) if as_of else latest
        aggregates, deliveries = customer_aggregates(distributor=distributor, as_of=as_of, window_days=window_days)
        keys = customer_keys(distributor=distributor)
        last_import = _last_import(distributor)
    data_seen = {**_stamp(latest, last_import), "customers": len(keys)}
    return RunInput(as_of, aggregates, deliveries, keys, data_seen)


def _last_import(distributor):
    return (
        Job.objects.filter(distributor=distributor, kind="import", status=Job.Status.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .values("number", "finished_at")
        .first()
    )


def _stamp(latest: date, last_import) -> dict:
    return {
        "latest_invoice_date": latest.isoformat() if latest else None,
        "last_import_job": last_import["number"] if last_import else None,  # the import's per-tenant number
        "last_import_finished_at": (
            last_import["finished_at"].isoformat() if last_import and last_import["finished_at"] else None
        ),
    }


def data_stamp(*, distributor) -> dict:
    """Which data the tenant holds now, as a run's `data_seen` names it (without the customer count):
    equal to a run's when nothing was imported since."""
    return _stamp(latest_invoice_date(distributor=distributor), _last_import(distributor))
