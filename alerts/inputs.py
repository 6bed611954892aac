"""What the rules read for one run (`rules.RuleInput`), in a few set-based statements: the run's
scores and the previous published run's with the customers' attributes, the lines of the two windows
(and of the recent span a year earlier) as integer columns (packed by PostgreSQL into binary records,
see `LineParts`), the products, and the cost-to-serve parts of the run's settings from the invoice
summaries."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from threading import Lock

import numpy as np
import pandas as pd
from django.db import connection

from sales.models import Customer, CustomerInvoice, InvoiceLine, Product
from segments.aggregates import multi_date_invoices
from segments.models import CustomerScore
from stratify.db import can_share_snapshot, heap_pages, is_postgres, read_snapshot, snapshot_connection, tid_ranges
from stratify.engine import ModelSettings
from stratify.formatting import format_money

from .rules import ACTIVITY_COLUMNS, YEAR, RuleInput

LINES = InvoiceLine._meta.db_table
INVOICES = CustomerInvoice._meta.db_table
SCORES = CustomerScore._meta.db_table
UNITS = 10_000


LINE_COLUMNS = ("customer", "product", "age", "units", "kept")


def read_lines(*, distributor, as_of, days: int, parallel: bool = False) -> pd.DataFrame:
    """Every line within `days` before `as_of` (inclusive of as_of), as integers: `customer`, `product`,
    `age` in days, `units` (net revenue in 1/10,000) and `kept` (1 for a non-return line), one row per
    line, not summed: the rules sum what they need over integer keys (see `rules.LineKeys`). On
    PostgreSQL the database packs them into fixed-width binary records that numpy reads as columns
    (see `LineParts`); `parallel` reads some parts over a second connection at the same time."""
    with LineParts(distributor, as_of, days, parallel=parallel) as parts:
        return parts.frame()


def _lines_by_rows(distributor, as_of, start) -> pd.DataFrame:
    """`read_lines` on SQLite: one row per line."""
    age = "CAST(julianday(%(as_of)s) - julianday(l.invoice_date) AS INTEGER)"
    units = f"CAST(round(l.revenue * {UNITS}) AS INTEGER)"
    kept = "CASE WHEN l.quantity >= 0 AND l.revenue >= 0 THEN 1 ELSE 0 END"
    sql = f"""
        SELECT l.customer_id, l.product_id, {age}, {units}, {kept}
        FROM {LINES} l
        WHERE l.distributor_id = %(distributor)s AND l.invoice_date >= %(start)s AND l.invoice_date <= %(as_of)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"distributor": distributor.pk, "start": start, "as_of": as_of})
        rows = cursor.fetchall()
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in LINE_COLUMNS})
    return pd.DataFrame.from_records(rows, columns=list(LINE_COLUMNS), coerce_float=False).astype("int64")


# One line as `LineParts` packs it: big-endian, as PostgreSQL's int8send / int4send / boolsend write.
_RECORD = np.dtype([("customer", ">i8"), ("product", ">i8"), ("age", ">i4"), ("units", ">i8"), ("kept", "u1")])
# Heap pages per part read in one statement: a part's records stay far below a bytea's 1 GB limit.
_PAGES_PER_PART = 200_000
# Parts when a second connection reads some of them: the two connections share them out as they go.
_PARALLEL_PARTS = 4


class LineParts:
    """The lines of `read_lines`. On PostgreSQL each part of the table's heap (a TID range; one part
    unless the table is large or the read is parallel) is one `string_agg` of fixed-width records,
    fetched in binary: no Python object per line, which at 10M lines cost more than the rules (the
    pure-Python psycopg handles a COPY row by row).

    With `parallel` (in a transaction of our own, see `read_rule_input`), a worker thread starts at
    once on a second connection that imports this transaction's snapshot and takes parts as it goes;
    `frame()` takes the parts left, so the caller can run its other reads meanwhile. Use as a context
    manager: the second connection is closed on the way out."""

    def __init__(self, distributor, as_of, days: int, *, parallel: bool):
        start = as_of - timedelta(days=days - 1)
        self._pool = self._worker = None
        self._connection = ExitStack()  # the second connection, when parallel
        self.statements: list[str] = []
        if not is_postgres():
            self._rows = (distributor, as_of, start)
            return
        # Every column read is NOT NULL, so no record is NULL (string_agg would skip it).
        record = (
            "int8send(CAST(l.customer_id AS bigint)) || int8send(CAST(l.product_id AS bigint))"
            f" || int4send(CAST(DATE '{as_of.isoformat()}' - l.invoice_date AS integer))"
            f" || int8send(CAST(l.revenue * {UNITS} AS bigint)) || boolsend(l.quantity >= 0 AND l.revenue >= 0)"
        )
        where = (
            f"l.distributor_id = {int(distributor.pk)}"
            f" AND l.invoice_date >= DATE '{start.isoformat()}' AND l.invoice_date <= DATE '{as_of.isoformat()}'"
        )
        pages = heap_pages(LINES)
        ranges = tid_ranges(pages, max(_PARALLEL_PARTS if parallel else 1, -(-pages // _PAGES_PER_PART)), "l")
        self.statements = [f"SELECT string_agg({record}, ''::bytea) FROM {LINES} l WHERE {where}{r}" for r in ranges]
        self.records: list = [None] * len(ranges)
        self._next, self._lock = iter(range(len(ranges))), Lock()
        if parallel:
            other = self._connection.enter_context(snapshot_connection())
            self._pool = ThreadPoolExecutor(1)
            self._worker = self._pool.submit(self._read, other)

    def _read(self, raw) -> None:
        import psycopg  # PostgreSQL only

        while True:
            with self._lock:
                part = next(self._next, None)
            if part is None:
                return
            with psycopg.Cursor(raw) as cursor:
                cursor.execute(self.statements[part], binary=True)
                (data,) = cursor.fetchone()
            self.records[part] = np.frombuffer(data or b"", dtype=_RECORD)

    def frame(self) -> pd.DataFrame:
        """The lines (the parts in table order, whoever read them)."""
        if not is_postgres():
            return _lines_by_rows(*self._rows)
        connection.ensure_connection()
        self._read(connection.connection)
        if self._worker is not None:
            self._worker.result()
        records = np.concatenate(self.records)
        return pd.DataFrame({name: records[name].astype("int64") for name in LINE_COLUMNS})

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._worker is not None:
            with self._lock:
                self._next = iter(())  # nothing more to start if the caller failed
            self._pool.shutdown(wait=True)
        self._connection.close()  # ends its read-only transaction


SCORE_COLUMNS = ("customer", "segment", "previous_segment", "net_profit", "revenue", "cost_to_serve")
SCORE_COLUMNS += ("value_rank", "profit_rank", "percentiles")


# The segments whose factor percentiles a rule reads (near_core: the core median, and the opportunistic
# and service-drain customers near the threshold); the others' are not parsed.
PERCENTILE_SEGMENTS = ("core", "opportunistic", "service_drain")


def _scores(distributor, run) -> pd.DataFrame:
    """The run's scores, one plain SELECT (no model rows); the percentiles JSON is parsed only for
    `PERCENTILE_SEGMENTS` (an empty dict for the others)."""
    wanted = ", ".join(f"'{segment}'" for segment in PERCENTILE_SEGMENTS)
    sql = f"""
        SELECT customer_id, segment, previous_segment, net_profit, revenue, cost_to_serve, value_rank, profit_rank,
               CASE WHEN segment IN ({wanted}) THEN CAST(percentiles AS text) END
        FROM {SCORES} WHERE distributor_id = %s AND run_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [distributor.pk, run.pk])
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=list(SCORE_COLUMNS), coerce_float=True)
    frame["percentiles"] = [json.loads(text) if isinstance(text, str) else {} for text in frame["percentiles"].tolist()]
    for column in ("net_profit", "revenue", "cost_to_serve", "value_rank", "profit_rank"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def _previous_scores(distributor, run) -> pd.DataFrame:
    """The previous run's `customer`, `segment` and `net_profit` (all the rules read of it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id, segment, net_profit FROM {SCORES} WHERE distributor_id = %s AND run_id = %s",
            [distributor.pk, run.pk],
        )
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=["customer", "segment", "net_profit"], coerce_float=True)
    frame["net_profit"] = pd.to_numeric(frame["net_profit"], errors="coerce").astype(float)
    return frame


def _customer_attrs(distributor, pks) -> pd.DataFrame:
    rows = Customer.objects.filter(distributor=distributor, pk__in=list(pks)) if len(pks) < 5000 else None
    if rows is None:
        rows = Customer.objects.filter(distributor=distributor)
    values = rows.values_list("pk", "customer_id", "name", "branch", "customer_class", "rep_id", "rep__rep_id")
    frame = pd.DataFrame.from_records(
        list(values), columns=["customer", "account", "name", "branch", "customer_class", "rep", "rep_code"]
    )
    frame["rep_code"] = frame["rep_code"].fillna("")
    for column in ("name", "branch", "customer_class"):
        frame[column] = frame[column].fillna("")
    return frame


def _products(distributor) -> pd.DataFrame:
    values = Product.objects.filter(distributor=distributor).values_list(
        "pk", "product_id", "name", "category", "brand", "supplier_id", "replacement_cycle_days"
    )
    frame = pd.DataFrame.from_records(
        list(values), columns=["product", "product_id", "name", "category", "brand", "supplier_id", "cycle"]
    )
    for column in ("name", "category", "brand", "supplier_id"):
        frame[column] = frame[column].fillna("")
    frame["cycle"] = pd.to_numeric(frame["cycle"], errors="coerce").astype(float)
    return frame


def _cost_parts(distributor, run, model_settings: ModelSettings) -> pd.DataFrame:
    """Per core and service-drain customer of the run: the cost-to-serve parts of STRATIFICATION.md
    section 3 at the run's rates, from the invoice summaries an import keeps (one grouped read per
    customer and ship method, joined to the run's scores so only those two segments are summed).
    Orders and deliveries are distinct invoices (per ship method) with a non-return line, counted as
    the run counts them: the flagged rows of the invoices on one date, and the rare invoices whose
    kept lines span dates apart (`segments.aggregates.multi_date_invoices`). Floats: they only name
    the activity furthest above the core median."""
    window_start = run.as_of - timedelta(days=int(model_settings.window_days) - 1)
    params = {"distributor": distributor.pk, "run": run.pk, "window_start": window_start, "as_of": run.as_of}
    single = "NOT ci.multi_date" if is_postgres() else "ci.multi_date = 0"
    lead = "ci.order_lead" if is_postgres() else "ci.order_lead = 1"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT ci.customer_id, ci.ship_method, sum(ci.lines), sum(ci.return_lines),
                       sum(ci.special_order_lines), sum(ci.ar_units),
                       count(CASE WHEN {lead} AND {single} THEN 1 END),
                       count(CASE WHEN ci.kept_lines > 0 AND {single} THEN 1 END)
                FROM {INVOICES} ci JOIN {SCORES} s
                  ON s.distributor_id = ci.distributor_id AND s.run_id = %(run)s AND s.customer_id = ci.customer_id
                 AND s.segment IN ('core', 'service_drain')
                WHERE ci.distributor_id = %(distributor)s AND ci.invoice_date >= %(window_start)s
                  AND ci.invoice_date <= %(as_of)s
                GROUP BY ci.customer_id, ci.ship_method""",
            params,
        )
        rows = cursor.fetchall()
        multi_orders, multi_deliveries = multi_date_invoices(params)
    columns = ["customer", "ship_method", "lines", "returns", "special", "ar_units", "orders", "deliveries"]
    per_method = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    if per_method.empty:
        return pd.DataFrame(columns=["customer", *ACTIVITY_COLUMNS])
    per_method["customer"] = per_method["customer"].astype("int64")
    for column in columns[2:]:
        per_method[column] = per_method[column].astype(float)
    multi = multi_deliveries.rename(columns={"cpk": "customer", "deliveries": "more"})
    multi["customer"] = multi["customer"].astype("int64")
    per_method = per_method.merge(multi, on=["customer", "ship_method"], how="left")
    rates = {str(k): float(v) for k, v in model_settings.delivery_cost.items()}
    default = float(model_settings.default_delivery_cost)
    rate = per_method["ship_method"].map(lambda m: rates.get(str(m), default) if m else default).astype(float)
    per_method["delivery_cost"] = (per_method["deliveries"] + per_method["more"].fillna(0).astype(float)) * rate
    frame = per_method.groupby("customer", sort=False)[["lines", "returns", "special", "ar_units", "orders",
                                                          "delivery_cost"]].sum()  # fmt: skip
    orders = frame["orders"] + multi_orders.set_index("cpk")["orders"].astype(float).reindex(frame.index).fillna(0)
    out = pd.DataFrame({"customer": frame.index.to_numpy(dtype="int64")})
    out["cost_orders"] = orders.to_numpy() * float(model_settings.cost_per_order)
    out["cost_lines"] = frame["lines"].to_numpy() * float(model_settings.cost_per_line)
    out["cost_returns"] = frame["returns"].to_numpy() * float(model_settings.cost_per_return)
    out["cost_special"] = frame["special"].to_numpy() * float(model_settings.cost_per_special_order)
    out["cost_deliveries"] = frame["delivery_cost"].to_numpy()
    out["cost_carrying"] = frame["ar_units"].to_numpy() / UNITS * float(model_settings.ar_carrying_rate) / 365
    return out


def money_formatter(distributor):
    """A fast equivalent of `format_money(value, distributor)` (whole units) for the many sentences a
    run's alerts say: the tenant's pattern is read once from Babel (a sample amount), then applied with
    plain string formatting. Falls back to `format_money` for a grouping it does not recognise."""
    sample = format_money(Decimal("1234567"), distributor)
    negative = format_money(Decimal("-1234567"), distributor)
    try:
        i, j = sample.index("1"), sample.rindex("7")
        ni, nj = negative.index("1"), negative.rindex("7")
    except ValueError:
        return lambda value: format_money(value, distributor)
    body = sample[i : j + 1]
    group = body[1] if len(body) == 9 else ""
    if body != f"1{group}234{group}567" or negative[ni : nj + 1] != body:
        return lambda value: format_money(value, distributor)
    prefix, suffix, nprefix, nsuffix = sample[:i], sample[j + 1 :], negative[:ni], negative[nj + 1 :]

    def fmt(value) -> str:
        amount = Decimal(str(value)).quantize(Decimal(1), ROUND_HALF_EVEN)
        digits = f"{abs(int(amount)):,}".replace(",", group)
        return f"{nprefix}{digits}{nsuffix}" if amount < 0 else f"{prefix}{digits}{suffix}"

    return fmt


def read_rule_input(*, distributor, run, settings: dict) -> RuleInput:
    model_settings = ModelSettings.from_dict(run.settings)
    window_days = int(model_settings.window_days)
    span = max(2 * window_days, YEAR + int(settings["recent_days"]))
    previous_run = run.compared_to
    # A second connection can share the snapshot only of a transaction of our own (a caller's, e.g. a
    # test's, may hold uncommitted rows it could not see).
    parallel = can_share_snapshot()
    # The lines first: with a second connection, it reads them while this one reads the rest.
    with read_snapshot(), LineParts(distributor, run.as_of, span, parallel=parallel) as line_parts:
        scores = _scores(distributor, run)
        previous = (
            _previous_scores(distributor, previous_run)
            if previous_run is not None
            else pd.DataFrame({"customer": pd.Series(dtype="int64"), "segment": [], "net_profit": []})
        )
        pks = set(scores["customer"]) | set(previous["customer"])
        attrs = _customer_attrs(distributor, pks)
        products = _products(distributor)
        costs = _cost_parts(distributor, run, model_settings)
        lines = line_parts.frame()
    scores = scores.merge(attrs, on="customer", how="left")
    previous_attrs = attrs[attrs["customer"].isin(previous["customer"])][
        ["customer", "branch", "customer_class", "rep_code"]
    ]
    return RuleInput(
        as_of=run.as_of,
        window_days=window_days,
        value_top_share=float(model_settings.value_top_share),
        profit_top_share=float(model_settings.profit_top_share),
        value_weights=dict(model_settings.value_weights),
        profit_weights=dict(model_settings.profit_weights),
        scores=scores,
        previous=previous,
        lines=lines,
        products=products,
        costs=costs,
        previous_attrs=previous_attrs,
        money=money_formatter(distributor),
    )
