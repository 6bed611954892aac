"""What the rules read for one run (`rules.RuleInput`), in a few set-based statements: the run's
scores and the previous published run's with the customers' attributes, the lines of the two windows
(and of the recent span a year earlier) summed per customer, product and date in SQL, the products,
and the cost-to-serve parts of the run's settings from the run's own aggregates."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
from django.db import connection

from sales.models import Customer, CustomerInvoice, InvoiceLine, Product
from segments.models import CustomerScore
from stratify.db import is_postgres, read_snapshot
from stratify.engine import ModelSettings
from stratify.formatting import format_money

from .rules import ACTIVITY_COLUMNS, YEAR, RuleInput

LINES = InvoiceLine._meta.db_table
INVOICES = CustomerInvoice._meta.db_table
SCORES = CustomerScore._meta.db_table
UNITS = 10_000


def read_lines(*, distributor, as_of, days: int) -> pd.DataFrame:
    """Per (customer, product, invoice date) within `days` before `as_of` (inclusive of as_of): the
    age in days, the net revenue in 1/10,000 and the number of non-return lines. The lines are read
    as integers (age and money units computed by the database) and summed by pandas: nearly every
    (customer, product, date) has one line, and hashing them in SQL over numeric sums cost more.
    On PostgreSQL they come by binary COPY straight into numpy columns (fixed-width rows: no Python
    object per value, which at 10M lines cost more than the rules)."""
    start = as_of - timedelta(days=days - 1)
    columns = ["customer", "product", "age", "units", "kept"]
    frame = _lines_by_copy(distributor, as_of, start) if is_postgres() else None
    if frame is None:
        if is_postgres():
            age, units = "(%(as_of)s - l.invoice_date)", f"CAST(l.revenue * {UNITS} AS bigint)"
            kept = "CAST(l.quantity >= 0 AND l.revenue >= 0 AS integer)"
        else:
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
            return pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})
        frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False).astype("int64")
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})
    return frame.groupby(["customer", "product", "age"], sort=False, as_index=False)[["units", "kept"]].sum()


# A binary COPY row of `_lines_by_copy`: the field count, then (length, value) per field, big-endian.
_COPY_ROW = np.dtype(
    [("n", ">i2"), ("l1", ">i4"), ("customer", ">i8"), ("l2", ">i4"), ("product", ">i8"), ("l3", ">i4"),
     ("age", ">i4"), ("l4", ">i4"), ("units", ">i8"), ("l5", ">i4"), ("kept", ">i4")]
)  # fmt: skip
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00"


def _lines_by_copy(distributor, as_of, start) -> pd.DataFrame | None:
    """The lines' integer columns by `COPY ... TO STDOUT (FORMAT binary)`, parsed by numpy as fixed-width
    records; None (the caller reads them row by row) if the stream is not what the fixed layout expects."""
    sql = f"""COPY (
        SELECT CAST(l.customer_id AS bigint), CAST(l.product_id AS bigint),
               CAST(DATE '{as_of.isoformat()}' - l.invoice_date AS integer),
               CAST(l.revenue * {UNITS} AS bigint), CAST(l.quantity >= 0 AND l.revenue >= 0 AS integer)
        FROM {LINES} l
        WHERE l.distributor_id = {int(distributor.pk)}
          AND l.invoice_date >= DATE '{start.isoformat()}' AND l.invoice_date <= DATE '{as_of.isoformat()}'
    ) TO STDOUT (FORMAT binary)"""
    size, names = _COPY_ROW.itemsize, ("customer", "product", "age", "units", "kept")
    expected = {"n": 5, "l1": 8, "l2": 8, "l3": 4, "l4": 8, "l5": 4}
    parts: dict[str, list] = {name: [] for name in names}
    pending, started = bytearray(), False
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for block in copy:
            pending += block
            if not started:
                if len(pending) < 19:
                    continue
                if not pending.startswith(_COPY_HEADER):
                    return None
                extension = int.from_bytes(pending[15:19], "big")
                if len(pending) < 19 + extension:
                    continue
                del pending[: 19 + extension]
                started = True
            if len(pending) < (1 << 22):  # parse by about 4 MiB
                continue
            whole = len(pending) // size * size
            rows = np.frombuffer(bytes(pending[:whole]), dtype=_COPY_ROW)
            del pending[:whole]
            if any((rows[name] != value).any() for name, value in expected.items()):
                return None  # a NULL (length -1) or another layout
            for name in names:
                parts[name].append(rows[name].astype("int64"))
    if not started or pending[-2:] != b"\xff\xff" or (len(pending) - 2) % size:
        return None
    rows = np.frombuffer(bytes(pending[:-2]), dtype=_COPY_ROW)
    if any((rows[name] != value).any() for name, value in expected.items()):
        return None
    for name in names:
        parts[name].append(rows[name].astype("int64"))
    return pd.DataFrame({name: np.concatenate(parts[name]) for name in names})


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
    section 3 at the run's rates, from the invoice summaries an import keeps (two grouped reads,
    joined to the run's scores so only those two segments are summed). Orders and deliveries are
    distinct invoices (per ship method) with a non-return line, as the run counts them. Floats: they
    only name the activity furthest above the core median."""
    window_start = run.as_of - timedelta(days=int(model_settings.window_days) - 1)
    params = {"distributor": distributor.pk, "run": run.pk, "start": window_start, "as_of": run.as_of}
    join = f"""
        FROM {INVOICES} ci JOIN {SCORES} s
          ON s.distributor_id = ci.distributor_id AND s.run_id = %(run)s AND s.customer_id = ci.customer_id
         AND s.segment IN ('core', 'service_drain')
        WHERE ci.distributor_id = %(distributor)s AND ci.invoice_date >= %(start)s AND ci.invoice_date <= %(as_of)s
    """
    kept_invoice = "count(DISTINCT CASE WHEN ci.kept_lines > 0 THEN ci.invoice_id END)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT ci.customer_id, sum(ci.lines), sum(ci.return_lines), sum(ci.special_order_lines),
                       sum(ci.ar_units), {kept_invoice} {join} GROUP BY ci.customer_id""",
            params,
        )
        sums = cursor.fetchall()
        cursor.execute(f"SELECT ci.customer_id, ci.ship_method, {kept_invoice} {join} GROUP BY 1, 2", params)
        per_method = cursor.fetchall()
    columns = ["customer", "lines", "returns", "special", "ar_units", "orders"]
    frame = pd.DataFrame.from_records(sums, columns=columns, coerce_float=True)
    if frame.empty:
        return pd.DataFrame(columns=["customer", *ACTIVITY_COLUMNS])
    rates = {str(k): float(v) for k, v in model_settings.delivery_cost.items()}
    default = float(model_settings.default_delivery_cost)
    delivery = {}
    for customer, method, count in per_method:
        delivery[customer] = delivery.get(customer, 0.0) + float(count) * (
            rates.get(str(method), default) if method else default
        )
    out = pd.DataFrame({"customer": frame["customer"].astype("int64")})
    out["cost_orders"] = frame["orders"].astype(float) * float(model_settings.cost_per_order)
    out["cost_lines"] = frame["lines"].astype(float) * float(model_settings.cost_per_line)
    out["cost_returns"] = frame["returns"].astype(float) * float(model_settings.cost_per_return)
    out["cost_special"] = frame["special"].astype(float) * float(model_settings.cost_per_special_order)
    out["cost_deliveries"] = out["customer"].map(delivery).fillna(0.0)
    out["cost_carrying"] = frame["ar_units"].astype(float) / UNITS * float(model_settings.ar_carrying_rate) / 365
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
        return f"{nprefix}{digits}{nsuffix}" if amount.is_signed() else f"{prefix}{digits}{suffix}"

    return fmt


def read_rule_input(*, distributor, run, settings: dict) -> RuleInput:
    model_settings = ModelSettings.from_dict(run.settings)
    window_days = int(model_settings.window_days)
    span = max(2 * window_days, YEAR + int(settings["recent_days"]))
    previous_run = run.compared_to
    with read_snapshot():
        scores = _scores(distributor, run)
        previous = (
            _scores(distributor, previous_run)[["customer", "segment", "net_profit"]]
            if previous_run is not None
            else pd.DataFrame({"customer": pd.Series(dtype="int64"), "segment": [], "net_profit": []})
        )
        pks = set(scores["customer"]) | set(previous["customer"])
        attrs = _customer_attrs(distributor, pks)
        lines = read_lines(distributor=distributor, as_of=run.as_of, days=span)
        products = _products(distributor)
        costs = _cost_parts(distributor, run, model_settings)
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
        lines_unique=True,  # read_lines sums them per (customer, product, age)
    )
