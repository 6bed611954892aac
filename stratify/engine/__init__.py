"""Stratification engine: the default model of docs STRATIFICATION.md, in pure pandas/numpy.

No Django or Celery import here: callers hand in two per-customer tables and get a
``StratificationResult`` back.

Pipeline::

    aggregates, deliveries = aggregate_lines(lines, as_of=..., window_days=settings.window_days,
                                             potential=potential_by_customer)   # or SQL GROUP BY
    result = stratify(aggregates, deliveries, settings, progress=callback)

Choices the specification leaves open (an independent implementation must make the same ones):

* Percentile ranks: ``n`` is the count of NON-missing values of the factor, i.e. exactly
  ``Series.rank(method="average", pct=True)``; lower-is-better factors are ranked on the negated
  value. Missing ``growth``/``share_of_wallet`` get 0.5, missing ``gm_pct``/``net_margin_pct`` get 0.
* ``value_rank``/``profit_rank`` use the same rule on the scores. "High" is decided exactly on the
  half-integer ranks against the decimal share (``rank / n > 1 - Decimal(str(share))``), so
  ``n = 10`` with the default share puts exactly 3 customers on top.
* Scores ``sum(w_i * p_i) / sum(w_i)`` and explanation contributions ``w_i * (p_i - 0.5)`` are
  rounded to 12 decimals, so that mathematically equal values tie regardless of the floating-point
  summation order (the rounding is far below the 1e-9 reproduction tolerance).
* Money (revenue, prior revenue, gross margin, cost-to-serve, net profit, potential) is exact
  Decimal; cost-to-serve's carrying cost is ``sum(revenue * days_to_pay) * ar_carrying_rate / 365``
  (one division per customer, 34 significant digits). Ratios (``growth``, ``gm_pct``,
  ``net_margin_pct``, ``share_of_wallet``) are divided in Decimal too and then converted to float64,
  so equal exact ratios tie. The scores frame holds float64 factors; ``totals`` are exact Decimals
  (not quantized: round to cents when storing).
* A return is a line with ``quantity < 0`` or ``revenue < 0``. ``revenue``, ``gross_margin``,
  ``window_lines``, ``return_lines``, ``special_order_lines`` and carrying cost include returns;
  ``orders``, ``products``, ``categories``, ``active_months`` and deliveries exclude them.
* ``categories`` counts distinct NON-empty categories (None/NaN/"" are not a category).
* ``tenure_days`` = ``as_of`` minus the first ``invoice_date`` on or before ``as_of`` (all history);
  lines after ``as_of`` are ignored entirely. ``recency_days`` uses the last window line of any kind
  (returns included).
* ``growth`` is missing when ``prior_revenue <= 0`` (including no prior-window line at all);
  ``share_of_wallet`` is missing when the potential is unknown or ``<= 0``.
* An active customer has at least one window line (even if only returns). A lapsed customer has
  prior-window lines and no window line; it is listed in ``result.lapsed``, never ranked.
* Delivery cost: ``delivery_cost[ship_method]`` by exact name; an empty/None ship method or one the
  map does not name costs ``default_delivery_cost``. Missing revenue/cost in lines count as 0.
* "High profit" needs ``net_profit > 0`` in exact Decimal. Explanation: per axis, only factors with
  weight > 0; ``positive`` = up to two largest contributions > 0 (descending), ``negative`` = up to
  two most negative < 0 (ascending), ties broken by ``FACTORS`` order; ``value`` is the factor's
  float value or None when missing.
* Settings dicts: a given nested dict (weights, delivery_cost) replaces the default as a whole.
"""

from .aggregate import AGGREGATE_COLUMNS, DELIVERY_COLUMNS, LINE_COLUMNS, aggregate_lines
from .model import SCORE_COLUMNS, StratificationResult, percentile, stratify
from .settings import (
    FACTORS,
    LAPSED,
    LOWER_IS_BETTER,
    SEGMENTS,
    ModelSettings,
    SettingsError,
    validate_settings,
)

__all__ = [
    "AGGREGATE_COLUMNS",
    "DELIVERY_COLUMNS",
    "FACTORS",
    "LAPSED",
    "LINE_COLUMNS",
    "LOWER_IS_BETTER",
    "SCORE_COLUMNS",
    "SEGMENTS",
    "ModelSettings",
    "SettingsError",
    "StratificationResult",
    "aggregate_lines",
    "percentile",
    "stratify",
    "validate_settings",
]
