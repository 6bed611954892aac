"""Factors, percentile ranks, scores and segments (STRATIFICATION.md sections 2-6).

``stratify(aggregates, deliveries, settings)`` works on the two per-customer tables that
``aggregate_lines`` (or the database's SQL) produces. Money is computed exactly in Decimal on object
columns (element-wise pandas operations, no per-customer Python logic), then converted to float64
for ratios' storage, ranking and scores. See ``stratify.engine`` for the documented choices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pandas as pd

from .aggregate import AGGREGATE_COLUMNS, as_date, decimal_series
from .settings import FACTORS, LOWER_IS_BETTER, SEGMENTS, ModelSettings

MONEY_FACTORS: frozenset[str] = frozenset({"revenue", "gross_margin", "cost_to_serve", "net_profit"})
COUNT_FACTORS: frozenset[str] = frozenset(
    {"orders", "products", "categories", "active_months", "tenure_days", "recency_days"}
)
RATIO_FACTORS: frozenset[str] = frozenset({"growth", "gm_pct", "net_margin_pct", "share_of_wallet"})
# Percentile given to a missing value (section 4.2); other factors are never missing.
MISSING_PERCENTILE: dict[str, float] = {
    "growth": 0.5,
    "share_of_wallet": 0.5,
    "gm_pct": 0.0,
    "net_margin_pct": 0.0,
}
# Scores and contributions are rounded to this many decimals so that mathematically equal values tie
# whatever the floating-point summation order (far below the 1e-9 reproduction tolerance).
SCORE_DECIMALS = 12
DECIMAL_PRECISION = 34

SCORE_COLUMNS: tuple[str, ...] = (
    ("customer_id",)
    + FACTORS
    + tuple(f"p_{f}" for f in FACTORS)
    + ("value_score", "profit_score", "value_rank", "profit_rank", "segment", "explanation")
)
TOTAL_KEYS: tuple[str, ...] = ("count", "revenue", "gross_margin", "cost_to_serve", "net_profit")

_ZERO = Decimal(0)


@dataclass
class StratificationResult:
    """Outcome of one run.

    ``scores``: one row per active customer, sorted by ``customer_id``, columns ``SCORE_COLUMNS``.
    ``lapsed``: sorted customer_ids with prior-window lines and no window line (not ranked).
    ``totals``: per segment of ``SEGMENTS``: count (int) and exact Decimal revenue, gross_margin,
    cost_to_serve and net_profit (zeros for an empty segment).
    """

    scores: pd.DataFrame
    lapsed: list[str] = field(default_factory=list)
    totals: dict[str, dict[str, Any]] = field(default_factory=dict)


def percentile(values: pd.Series, *, lower_is_better: bool = False) -> pd.Series:
    """Section 4.1: average rank among non-missing values / their count; NaN stays NaN."""
    values = values.astype("float64")
    if lower_is_better:
        values = -values
    return values.rank(method="average", ascending=True, pct=True)


def _high(values: pd.Series, top_share: float) -> np.ndarray:
    """``percentile(values) > 1 - top_share``, decided exactly on the integer half-ranks."""
    n = int(values.notna().sum())
    if n == 0:
        return np.zeros(len(values), dtype=bool)
    twice_rank = (values.rank(method="average", ascending=True) * 2).round().to_numpy()
    threshold = 2 * n * (1 - Decimal(str(top_share)))  # exact: 2 * rank > threshold
    lowest_above = int(threshold.to_integral_value(rounding="ROUND_FLOOR")) + 1
    return np.nan_to_num(twice_rank, nan=-1.0) >= lowest_above


def _decimal_ratio(numerator: pd.Series, denominator: pd.Series, valid: np.ndarray) -> pd.Series:
    """``numerator / denominator`` in Decimal where ``valid`` (as float64, NaN elsewhere)."""
    out = np.full(len(numerator), np.nan)
    if valid.any():
        with localcontext() as ctx:
            ctx.prec = DECIMAL_PRECISION
            quotient = numerator[valid] / denominator[valid]
        out[valid] = quotient.astype("float64").to_numpy()
    return pd.Series(out, index=numerator.index)


def _as_int(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").fillna(0).astype("int64")


def _to_datetime(values: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(values).dt.normalize()
    except (TypeError, ValueError):
        return pd.to_datetime(pd.Series([None if v is None else as_date(v) for v in values.tolist()]))


def _days_between(as_of: pd.Series, dates: pd.Series) -> pd.Series:
    """Whole days from ``dates`` to ``as_of`` (float64, NaN where a date is missing)."""
    days = (_to_datetime(as_of.reset_index(drop=True)) - _to_datetime(dates.reset_index(drop=True))).dt.days
    return pd.Series(days.astype("float64").to_numpy(), index=dates.index)


def _delivery_cost(ids: pd.Series, deliveries: pd.DataFrame, settings: ModelSettings) -> pd.Series:
    """Exact Decimal delivery cost of each customer of ``ids`` (zero without deliveries).

    A tenant has a handful of ship methods and fewer distinct rates: each customer's deliveries are
    summed per rate as integers, so the Decimal work is one multiplication per customer and rate."""
    codes, methods = pd.factorize(deliveries["ship_method"])  # None/NaN -> -1: no ship method
    rates = {str(k): Decimal(v) for k, v in settings.delivery_cost.items()}
    default = Decimal(settings.default_delivery_cost)
    # The rate of each method, then of "no method" (code -1 picks the last entry).
    method_rates = [rates.get(str(m), default) if str(m) else default for m in methods] + [default]
    distinct = list(dict.fromkeys(method_rates))
    rate_of_row = np.array([distinct.index(rate) for rate in method_rates])[codes]
    # Each delivery row's position in ``ids`` (-1: not an active customer), matched by str() as ids are.
    position = pd.Index(ids).get_indexer(np.array([str(c) for c in deliveries["customer_id"].tolist()], dtype=object))
    counted = position >= 0
    per_rate = np.zeros((len(distinct), len(ids)), dtype=np.int64)
    np.add.at(
        per_rate,
        (rate_of_row[counted], position[counted]),
        _as_int(deliveries["deliveries"]).to_numpy()[counted],
    )
    cost = pd.Series([_ZERO] * len(ids), index=ids.index, dtype=object)
    for rate, counts in zip(distinct, per_rate, strict=True):
        cost = cost + counts.astype(object) * rate
    return cost


def cost_to_serve(active: pd.DataFrame, deliveries: pd.DataFrame, settings: ModelSettings) -> pd.Series:
    """Section 3, exact Decimal per customer (object Series indexed like ``active``)."""
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        total = pd.Series([_ZERO] * len(active), index=active.index, dtype=object)
        for rate, column in (
            (settings.cost_per_order, "orders"),
            (settings.cost_per_line, "window_lines"),
            (settings.cost_per_return, "return_lines"),
            (settings.cost_per_special_order, "special_order_lines"),
        ):
            counts = _as_int(active[column]).astype(object)
            total = total + counts * Decimal(rate)

        if deliveries is not None and len(deliveries):
            total = total + _delivery_cost(active["customer_id"], deliveries, settings)

        ar_base = decimal_series(active["ar_base"])
        total = total + ar_base * Decimal(settings.ar_carrying_rate) / Decimal(365)
    return total


def _side(names: list[str], order: np.ndarray, keep: np.ndarray, contrib, pct, vals) -> list[list[dict]]:
    """Up to two explanation entries per row: columns ``order[:, :2]`` where ``keep`` holds.

    Each slot's entries are built in one pass over only the rows that list it, from values gathered
    with numpy (a missing value becomes None), then appended to their rows in slot order."""
    n = len(order)
    rows = np.arange(n)
    factor_names = np.array(names, dtype=object)
    out: list[list[dict]] = [[] for _ in range(n)]
    for k in range(min(2, order.shape[1])):
        listed = np.flatnonzero(keep[rows, order[:, k]])
        j = order[listed, k]
        value = vals[listed, j]
        value_or_none = value.astype(object)
        value_or_none[np.isnan(value)] = None
        entries = [
            {"factor": f, "contribution": c, "percentile": p, "value": v}
            for f, c, p, v in zip(
                factor_names[j].tolist(),
                contrib[listed, j].tolist(),
                pct[listed, j].tolist(),
                value_or_none.tolist(),
                strict=True,
            )
        ]
        for i, entry in zip(listed.tolist(), entries, strict=True):
            out[i].append(entry)
    return out


def _explanations(p: pd.DataFrame, factors: pd.DataFrame, settings: ModelSettings) -> list[dict]:
    """Per row ``{"value": {"positive": [...], "negative": [...]}, "profit": {...}}`` (section 6)."""
    n = len(p)
    per_axis: dict[str, tuple[list, list]] = {}
    for axis, weights in (("value", settings.value_weights), ("profit", settings.profit_weights)):
        names = [f for f in FACTORS if float(weights.get(f, 0.0)) > 0]
        if not names or n == 0:
            per_axis[axis] = ([[] for _ in range(n)], [[] for _ in range(n)])
            continue
        w = np.array([float(weights[f]) for f in names])
        pct = p[[f"p_{f}" for f in names]].to_numpy(dtype="float64")
        contrib = np.round(w * (pct - 0.5), SCORE_DECIMALS) + 0.0  # +0.0 turns -0.0 into 0.0
        vals = factors[names].to_numpy(dtype="float64")
        # stable sorts keep FACTORS order among equal contributions
        desc = np.argsort(-contrib, axis=1, kind="stable")
        asc = np.argsort(contrib, axis=1, kind="stable")
        per_axis[axis] = (
            _side(names, desc, contrib > 0, contrib, pct, vals),
            _side(names, asc, contrib < 0, contrib, pct, vals),
        )
    vp, vn = per_axis["value"]
    pp, pn = per_axis["profit"]
    return [
        {"value": {"positive": a, "negative": b}, "profit": {"positive": c, "negative": d}}
        for a, b, c, d in zip(vp, vn, pp, pn, strict=True)
    ]


def _weighted_score(p: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    total_weight = sum(float(weights.get(f, 0.0)) for f in FACTORS)
    score = pd.Series(0.0, index=p.index)
    for f in FACTORS:
        w = float(weights.get(f, 0.0))
        if w:
            score = score + w * p[f"p_{f}"]
    return (score / total_weight).round(SCORE_DECIMALS)


def _empty_totals() -> dict[str, dict[str, Any]]:
    return {
        s: {"count": 0, "revenue": _ZERO, "gross_margin": _ZERO, "cost_to_serve": _ZERO, "net_profit": _ZERO}
        for s in SEGMENTS
    }


def _empty_scores() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in SCORE_COLUMNS})
    for c in ("customer_id", "segment", "explanation"):
        frame[c] = frame[c].astype(object)
    return frame


def stratify(
    aggregates: pd.DataFrame,
    deliveries: pd.DataFrame,
    settings: ModelSettings,
    *,
    progress: Callable[[int], None] | None = None,
) -> StratificationResult:
    """Run the model on the per-customer aggregates (see ``AGGREGATE_COLUMNS``)."""

    def report(pct: int) -> None:
        if progress is not None:
            progress(pct)

    report(0)
    missing = [c for c in AGGREGATE_COLUMNS if c not in aggregates.columns]
    if missing:
        raise ValueError(f"aggregates lack columns: {missing}")

    agg = aggregates.reset_index(drop=True).copy()
    agg["customer_id"] = pd.Series([str(v) for v in agg["customer_id"].tolist()], dtype=object)
    window_lines = _as_int(agg["window_lines"])
    prior_lines = _as_int(agg["prior_lines"])
    lapsed = sorted(agg.loc[(window_lines <= 0) & (prior_lines > 0), "customer_id"].tolist())
    active = agg.loc[window_lines > 0].sort_values("customer_id", kind="stable").reset_index(drop=True)
    if active["customer_id"].duplicated().any():
        raise ValueError("aggregates hold duplicate customer_id rows")
    report(10)
    if active.empty:
        report(100)
        return StratificationResult(scores=_empty_scores(), lapsed=lapsed, totals=_empty_totals())

    # --- exact money (section 2 and 3) ---------------------------------------------------------
    revenue = decimal_series(active["revenue"])
    prior_revenue = decimal_series(active["prior_revenue"])
    gross_margin = decimal_series(active["gross_margin"])
    potential = decimal_series(active["potential_annual_spend"], missing=None)
    cts = cost_to_serve(active, deliveries, settings)
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        net_profit = gross_margin - cts
    report(30)

    revenue_f = revenue.astype("float64")
    positive_revenue = (revenue > 0).to_numpy(dtype=bool)
    positive_prior = (prior_revenue > 0).to_numpy(dtype=bool)
    potential_ok = np.array([v is not None and v > 0 for v in potential.tolist()], dtype=bool)

    factors = pd.DataFrame(index=active.index)
    factors["revenue"] = revenue_f
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        growth_num = revenue - prior_revenue
    factors["growth"] = _decimal_ratio(growth_num, prior_revenue, positive_prior)
    for name in ("orders", "products", "categories", "active_months"):
        factors[name] = _as_int(active[name]).astype("float64")
    factors["tenure_days"] = _days_between(active["as_of"], active["first_date"])
    factors["recency_days"] = _days_between(active["as_of"], active["last_date"])
    factors["gross_margin"] = gross_margin.astype("float64")
    factors["gm_pct"] = _decimal_ratio(gross_margin, revenue, positive_revenue)
    factors["cost_to_serve"] = cts.astype("float64")
    factors["net_profit"] = net_profit.astype("float64")
    factors["net_margin_pct"] = _decimal_ratio(net_profit, revenue, positive_revenue)
    factors["share_of_wallet"] = _decimal_ratio(revenue, potential.where(potential_ok, Decimal(1)), potential_ok)
    report(50)

    # --- percentiles and scores (section 4) ----------------------------------------------------
    p = pd.DataFrame(index=active.index)
    for f in FACTORS:
        rank = percentile(factors[f], lower_is_better=f in LOWER_IS_BETTER)
        p[f"p_{f}"] = rank.fillna(MISSING_PERCENTILE.get(f, 0.0))
    value_score = _weighted_score(p, settings.value_weights)
    profit_score = _weighted_score(p, settings.profit_weights)
    report(70)

    # --- segments (section 5) ------------------------------------------------------------------
    high_value = _high(value_score, settings.value_top_share)
    high_profit = _high(profit_score, settings.profit_top_share) & (net_profit > 0).to_numpy(dtype=bool)
    segment = np.where(
        high_value,
        np.where(high_profit, "core", "service_drain"),
        np.where(high_profit, "opportunistic", "marginal"),
    )
    explanation = _explanations(p, factors, settings)
    report(90)

    scores = pd.concat([active[["customer_id"]], factors[list(FACTORS)], p], axis=1)
    scores["value_score"] = value_score
    scores["profit_score"] = profit_score
    scores["value_rank"] = percentile(value_score)
    scores["profit_rank"] = percentile(profit_score)
    scores["segment"] = pd.Series(segment.tolist(), index=active.index, dtype=object)
    scores["explanation"] = pd.Series(explanation, index=active.index, dtype=object)
    scores["customer_id"] = scores["customer_id"].astype(object)
    scores = scores[list(SCORE_COLUMNS)]

    totals = _empty_totals()
    exact = pd.DataFrame(
        {
            "segment": segment,
            "revenue": revenue,
            "gross_margin": gross_margin,
            "cost_to_serve": cts,
            "net_profit": net_profit,
        }
    )
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        for seg, group in exact.groupby("segment"):
            totals[str(seg)] = {
                "count": len(group),
                "revenue": sum(group["revenue"].tolist(), _ZERO),
                "gross_margin": sum(group["gross_margin"].tolist(), _ZERO),
                "cost_to_serve": sum(group["cost_to_serve"].tolist(), _ZERO),
                "net_profit": sum(group["net_profit"].tolist(), _ZERO),
            }
    report(100)
    return StratificationResult(scores=scores, lapsed=lapsed, totals=totals)
