"""What the rules read for one run (`rules.RuleInput`), in a few set-based statements: the run's
scores and the previous published run's with the customers' attributes, the lines of the two windows
(and of the recent span a year earlier) summed per customer, product and date in SQL, the products,
and the cost-to-serve parts of the run's settings from the run's own aggregates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection

from sales.models import Customer, InvoiceLine, Product
from segments import aggregates as agg
from segments.models import CustomerScore
from stratify.db import is_postgres, read_snapshot
from stratify.engine import ModelSettings
from stratify.formatting import format_money

from .rules import ACTIVITY_COLUMNS, YEAR, RuleInput

LINES = InvoiceLine._meta.db_table
UNITS = 10_000


def _units_sum(money: str) -> str:
    if is_postgres():
        return f"CAST(coalesce(sum({money}), 0) * {UNITS} AS bigint)"
    return f"coalesce(sum(CAST(round({money} * {UNITS}) AS INTEGER)), 0)"


def read_lines(*, distributor, as_of, days: int) -> pd.DataFrame:
    """Per (customer, product, invoice date) within `days` before `as_of` (inclusive of as_of): the
    age in days, the net revenue in 1/10,000 and the number of non-return lines."""
    start = as_of - timedelta(days=days - 1)
    sql = f"""
        SELECT l.customer_id, l.product_id, l.invoice_date, {_units_sum("l.revenue")},
               sum(CASE WHEN l.quantity >= 0 AND l.revenue >= 0 THEN 1 ELSE 0 END)
        FROM {LINES} l
        WHERE l.distributor_id = %s AND l.invoice_date >= %s AND l.invoice_date <= %s
        GROUP BY l.customer_id, l.product_id, l.invoice_date
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [distributor.pk, start, as_of])
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(
        rows, columns=["customer", "product", "date", "units", "kept"], coerce_float=False
    )
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in ("customer", "product", "age", "units", "kept")})
    ages = (pd.Timestamp(as_of) - pd.to_datetime(frame["date"])).dt.days.astype("int64")
    return pd.DataFrame(
        {
            "customer": frame["customer"].astype("int64"),
            "product": frame["product"].astype("int64"),
            "age": ages,
            "units": frame["units"].astype("int64"),
            "kept": frame["kept"].astype("int64"),
        }
    )


SCORE_COLUMNS = ("customer", "segment", "previous_segment", "net_profit", "revenue", "cost_to_serve")
SCORE_COLUMNS += ("value_rank", "profit_rank", "percentiles")


def _scores(distributor, run) -> pd.DataFrame:
    rows = CustomerScore.objects.filter(distributor=distributor, run=run).values_list(
        "customer_id", "segment", "previous_segment", "net_profit", "revenue", "cost_to_serve",
        "value_rank", "profit_rank", "percentiles",
    )  # fmt: skip
    frame = pd.DataFrame.from_records(list(rows), columns=list(SCORE_COLUMNS))
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


def _cost_parts(distributor, run, model_settings: ModelSettings, keys: dict[str, int]) -> pd.DataFrame:
    """Per active customer: the cost-to-serve parts of STRATIFICATION.md section 3 at the run's rates
    (floats: they only name the activity furthest above the core median)."""
    aggregates, deliveries = agg.customer_aggregates(
        distributor=distributor, as_of=run.as_of, window_days=model_settings.window_days
    )
    active = aggregates[aggregates["window_lines"] > 0]
    if active.empty:
        return pd.DataFrame(columns=["customer", *ACTIVITY_COLUMNS])
    ids = active["customer_id"].astype(str)
    frame = pd.DataFrame({"customer": ids.map(keys).to_numpy()})
    frame["cost_orders"] = active["orders"].to_numpy(dtype=float) * float(model_settings.cost_per_order)
    frame["cost_lines"] = active["window_lines"].to_numpy(dtype=float) * float(model_settings.cost_per_line)
    frame["cost_returns"] = active["return_lines"].to_numpy(dtype=float) * float(model_settings.cost_per_return)
    frame["cost_special"] = active["special_order_lines"].to_numpy(dtype=float) * float(
        model_settings.cost_per_special_order
    )
    rates = {str(k): float(v) for k, v in model_settings.delivery_cost.items()}
    default = float(model_settings.default_delivery_cost)
    if len(deliveries):
        cost = deliveries["deliveries"].astype(float) * deliveries["ship_method"].map(
            lambda m: rates.get(str(m), default) if m else default
        ).astype(float)
        per_customer = cost.groupby(deliveries["customer_id"].astype(str)).sum()
        frame["cost_deliveries"] = ids.map(per_customer).fillna(0).to_numpy()
    else:
        frame["cost_deliveries"] = 0.0
    ar = np.array([float(Decimal(v or 0)) for v in active["ar_base"].tolist()])
    frame["cost_carrying"] = ar * float(model_settings.ar_carrying_rate) / 365
    return frame.dropna(subset=["customer"]).astype({"customer": "int64"})


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
        keys = dict(zip(attrs["account"], attrs["customer"], strict=True))
        if len(keys) < len(pks):
            keys = agg.customer_keys(distributor=distributor)
        costs = _cost_parts(distributor, run, model_settings, keys)
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
        money=lambda value: format_money(value, distributor, decimals=0),
    )
