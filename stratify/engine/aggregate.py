"""Per-customer aggregates of invoice lines (STRATIFICATION.md sections 1-3), in pure pandas.

The database computes the same two tables with SQL ``GROUP BY``; this version serves tests and small
data sets. See ``stratify.engine`` for the column contract and the documented choices.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

AGGREGATE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "window_lines",
    "prior_lines",
    "revenue",
    "prior_revenue",
    "gross_margin",
    "orders",
    "products",
    "categories",
    "active_months",
    "return_lines",
    "special_order_lines",
    "ar_base",
    "first_date",
    "last_date",
    "as_of",
    "potential_annual_spend",
)
DELIVERY_COLUMNS: tuple[str, ...] = ("customer_id", "ship_method", "deliveries")

LINE_COLUMNS: tuple[str, ...] = (
    "invoice_id",
    "invoice_date",
    "customer_id",
    "product_id",
    "category",
    "quantity",
    "revenue",
    "cost",
    "ship_method",
    "special_order",
    "days_to_pay",
)

_ZERO = Decimal(0)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, Decimal):
        return value.is_nan()
    return False


def to_decimal(value: Any, *, missing: Decimal | None = _ZERO) -> Decimal | None:
    """Exact Decimal of a money value: Decimals pass through, numbers go through ``str``.

    None/NaN/NA give ``missing``. A float is read by its shortest repr (``12.3`` -> ``Decimal("12.3")``).
    """
    kind = type(value)
    if kind is Decimal:
        if value.is_finite():
            return value
        if value.is_nan():
            return missing
        raise ValueError(f"not a finite amount: {value!r}")
    if kind is float:
        if value != value:  # NaN
            return missing
        return Decimal(repr(value))
    if kind is int:
        return Decimal(value)
    if _is_missing(value):
        return missing
    if isinstance(value, np.generic):
        return to_decimal(value.item(), missing=missing)
    result = Decimal(str(value))
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def decimal_series(series: pd.Series, *, missing: Decimal | None = _ZERO) -> pd.Series:
    """Object Series of exact Decimals (``missing`` for None/NaN)."""
    # Finite Decimals (what PostgreSQL's numeric gives) pass through without a call per value.
    values = [v if type(v) is Decimal and v.is_finite() else to_decimal(v, missing=missing) for v in series.tolist()]
    return pd.Series(values, index=series.index, dtype=object)


def float_series(series: pd.Series) -> pd.Series:
    """float64 Series (NaN for None/NA) of a numeric or Decimal column."""
    try:
        return series.astype("float64")
    except (TypeError, ValueError):
        return pd.Series(
            [np.nan if _is_missing(v) else float(v) for v in series.tolist()], index=series.index, dtype="float64"
        )


def as_date(value: Any) -> date:
    """A ``datetime.date`` from a date, datetime, Timestamp or ISO string."""
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def _text(series: pd.Series) -> pd.Series:
    """Strings with None/NaN as ""."""
    values = [v if type(v) is str else ("" if _is_missing(v) else str(v)) for v in series.tolist()]
    return pd.Series(values, index=series.index, dtype=object)


def _empty_aggregates() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in AGGREGATE_COLUMNS})


def _empty_deliveries() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype=object),
            "ship_method": pd.Series(dtype=object),
            "deliveries": pd.Series(dtype="int64"),
        }
    )


def aggregate_lines(
    lines: pd.DataFrame,
    *,
    as_of: date,
    window_days: int,
    potential: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate invoice lines into ``(aggregates, deliveries)``.

    ``aggregates`` has the columns ``AGGREGATE_COLUMNS``, one row per customer with at least one line
    in the window or the prior window, sorted by ``customer_id``. ``deliveries`` has
    ``customer_id, ship_method, deliveries``: distinct ``(invoice_id, ship_method)`` pairs among the
    non-return window lines. ``potential`` maps ``customer_id`` to the potential annual spend
    (None/NaN when unknown). Lines dated after ``as_of`` are ignored entirely.
    """
    as_of = as_date(as_of)
    window_days = int(window_days)
    if window_days < 1:
        raise ValueError("window_days must be >= 1")
    missing = [c for c in LINE_COLUMNS if c not in lines.columns]
    if missing:
        raise ValueError(f"lines lack columns: {missing}")
    if lines.empty:
        return _empty_aggregates(), _empty_deliveries()

    dates = pd.to_datetime(lines["invoice_date"]).dt.normalize()
    age = (pd.Timestamp(as_of) - dates).dt.days.to_numpy()
    keep = age >= 0
    if not keep.any():
        return _empty_aggregates(), _empty_deliveries()

    src = lines.loc[keep]
    age = age[keep]
    df = pd.DataFrame(
        {
            "customer_id": [str(v) for v in src["customer_id"].tolist()],
            "invoice_id": [str(v) for v in src["invoice_id"].tolist()],
            "product_id": [str(v) for v in src["product_id"].tolist()],
            "date": dates.loc[keep].to_numpy(),
            "age": age,
        },
    )
    df["category"] = _text(src["category"]).to_numpy()
    df["ship_method"] = _text(src["ship_method"]).to_numpy()
    df["revenue"] = decimal_series(src["revenue"]).to_numpy()
    df["cost"] = decimal_series(src["cost"]).to_numpy()
    quantity = float_series(src["quantity"]).to_numpy()
    df["is_return"] = (quantity < 0) | (df["revenue"] < _ZERO).to_numpy(dtype=bool)
    df["special"] = [False if _is_missing(v) else bool(v) for v in src["special_order"].tolist()]
    days_to_pay = float_series(src["days_to_pay"]).to_numpy()
    has_days = ~np.isnan(days_to_pay)
    ar = pd.Series([None] * len(df), dtype=object)
    if has_days.any():
        days = pd.Series(days_to_pay[has_days].astype("int64"), dtype="int64").astype(object)
        ar[has_days] = (df["revenue"][has_days].reset_index(drop=True) * days).to_numpy()
    df["ar"] = ar.to_numpy()
    df["month"] = df["date"].dt.year * 100 + df["date"].dt.month

    first_date = df.groupby("customer_id", sort=True)["date"].min()

    window = df[df["age"] < window_days]
    prior = df[(df["age"] >= window_days) & (df["age"] < 2 * window_days)]
    customers = sorted(set(window["customer_id"]) | set(prior["customer_id"]))
    if not customers:
        return _empty_aggregates(), _empty_deliveries()
    index = pd.Index(customers, name="customer_id", dtype=object)

    def count(frame: pd.DataFrame) -> pd.Series:
        return frame.groupby("customer_id").size().reindex(index, fill_value=0).astype("int64")

    def dec_sum(frame: pd.DataFrame, column: str) -> pd.Series:
        values = frame[["customer_id", column]].dropna()
        sums: dict[str, Decimal] = {}
        for cid, value in zip(values["customer_id"].tolist(), values[column].tolist(), strict=True):
            sums[cid] = sums.get(cid, _ZERO) + value
        return pd.Series([sums.get(c, _ZERO) for c in customers], index=index, dtype=object)

    def distinct(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame.groupby("customer_id")[column].nunique().reindex(index, fill_value=0).astype("int64")

    window = window.assign(margin=window["revenue"] - window["cost"])
    kept = window[~window["is_return"]]

    out = pd.DataFrame(index=index)
    out["window_lines"] = count(window)
    out["prior_lines"] = count(prior)
    out["revenue"] = dec_sum(window, "revenue")
    out["prior_revenue"] = dec_sum(prior, "revenue")
    out["gross_margin"] = dec_sum(window, "margin")
    out["orders"] = distinct(kept, "invoice_id")
    out["products"] = distinct(kept, "product_id")
    out["categories"] = distinct(kept[kept["category"] != ""], "category")
    out["active_months"] = distinct(kept, "month")
    out["return_lines"] = count(window[window["is_return"]])
    out["special_order_lines"] = count(window[window["special"]])
    out["ar_base"] = dec_sum(window, "ar")
    out["first_date"] = [ts.date() for ts in first_date.reindex(index)]
    last = window.groupby("customer_id")["date"].max().reindex(index)
    out["last_date"] = [None if pd.isna(ts) else ts.date() for ts in last]
    out["as_of"] = [as_of] * len(index)
    if potential is None:
        out["potential_annual_spend"] = [None] * len(index)
    else:
        pot = pd.Series(potential)
        pot.index = [str(i) for i in pot.index]
        pot = pot[~pot.index.duplicated(keep="last")]
        out["potential_annual_spend"] = [
            to_decimal(pot.get(c), missing=None) if c in pot.index else None for c in customers
        ]
    out = out.reset_index()
    for column in ("first_date", "last_date", "as_of", "potential_annual_spend", "customer_id"):
        out[column] = out[column].astype(object)
    out = out[list(AGGREGATE_COLUMNS)]

    pairs = kept[["customer_id", "ship_method", "invoice_id"]].drop_duplicates()
    deliveries = pairs.groupby(["customer_id", "ship_method"], sort=True).size().rename("deliveries").reset_index()
    deliveries["deliveries"] = deliveries["deliveries"].astype("int64")
    deliveries["customer_id"] = deliveries["customer_id"].astype(object)
    deliveries["ship_method"] = deliveries["ship_method"].astype(object)
    return out, deliveries[list(DELIVERY_COLUMNS)].reset_index(drop=True)
