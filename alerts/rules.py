"""The rules of INSIGHTS.md, one plain function per kind, over whole columns (pandas and numpy: the
lines' sums and distinct dates over integer codes, see `LineKeys`).

Each rule takes a `RuleInput` (what `alerts.inputs.read_rule_input` reads for a run: the run's scores,
the previous published run's, the lines of the window and the prior window as integers, the products
and the cost-to-serve parts) and the thresholds (a dict with
`alerts.models.SETTING_FIELDS`' names; Decimal values), and returns a list of candidates:

    {"customer": <customer pk or None>, "subject_type": ..., "subject": ..., "amount": Decimal,
     "figures": {...JSON-safe...}, "message": "plain words"}

Money is read as integer units of 1/10,000 (the lines' four decimals) and compared exactly: a
threshold with at most four decimals is scaled to an integer of 1/10,000 too, so `a < (1 - s) x b`
is `a * 10000 < (10000 - s*10000) * b` in integers. Amounts are rounded half-even to the cent (the house rule).

Choices where INSIGHTS.md is silent (also in docs/alerts-settings.md):
* an order date is a date with at least one non-return line (quantity >= 0 and revenue >= 0); a
  purchase of a product likewise; "bought a category" means a non-return line in it; revenue is net;
* empty categories, brands, suppliers, branches, classes and reps are not subjects;
* `overdue`: days overdue = days since the last order - the median gap (when the next order was due);
* `replenishment_due`: pairs bought in the window or the prior window; the cycle learnt from the
  purchase dates there; average revenue per purchase = the pair's net revenue there / its dates;
* `near_core`: only a customer whose missed rank is at or below its threshold (a service drain that
  ranks high on profit but loses money misses no rank);
* `segment_shift`: a group's share of core customers = its core customers / its customers listed
  in the run (lapsed included), groups by the customers' current branch, class and rep; at stake:
  the previous run's net profit of its customers who left core;
* money at stake is never negative (a figure below zero is shown as 0 at stake).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

from segments.vocabulary import RANKED_SEGMENTS as RANKED
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER

SEGMENT_WORDS = {segment: label.lower() for segment, label in SEGMENT_LABELS.items()}
YEAR = 365
UNIT = 10_000  # money units per currency unit
CENT = Decimal("0.01")
ACTIVITIES = ("orders", "lines", "returns", "special orders", "deliveries", "carrying")
ACTIVITY_COLUMNS = ("cost_orders", "cost_lines", "cost_returns", "cost_special", "cost_deliveries", "cost_carrying")


def _money_words(value) -> str:
    amount = Decimal(value).quantize(CENT, ROUND_HALF_EVEN)
    return f"{abs(amount) if amount == 0 else amount:,.2f}"


@dataclass
class RuleInput:
    """What the rules read. Frames (all for one tenant):

    * `scores`: one row per customer of the run: `customer` (pk), `account`, `name`, `segment`,
      `previous_segment`, `net_profit`, `revenue`, `cost_to_serve`, `value_rank`, `profit_rank`,
      `percentiles` (dict), `branch`, `customer_class`, `rep_code`;
    * `previous`: the previous published run: `customer`, `segment`, `net_profit`;
    * `lines`: the lines within 2 windows (and a year + recent span) of `as_of`, one row per line (or
      per (customer, product, date): the rules sum and take distinct dates themselves): `customer`,
      `product`, `age` (days before `as_of`), `units` (net revenue in 1/10,000), `kept` (non-return
      lines);
    * `products`: `product` (pk), `product_id`, `category`, `brand`, `supplier_id`, `cycle` (days or NaN);
    * `costs`: per active customer the cost-to-serve parts (`ACTIVITY_COLUMNS`, floats);
    * `previous_attrs`: `customer`, `branch`, `customer_class`, `rep_code` of the previous run's customers."""

    as_of: date
    window_days: int
    value_top_share: float
    profit_top_share: float
    value_weights: dict
    profit_weights: dict
    scores: pd.DataFrame
    previous: pd.DataFrame
    lines: pd.DataFrame
    products: pd.DataFrame
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The current branch, class and rep code of the previous run's customers (for `segment_shift`).
    previous_attrs: pd.DataFrame = field(default_factory=pd.DataFrame)
    money: Callable[[object], str] = _money_words
    # What several rules derive from the same frames (the lines' spans, who each customer is), once.
    cache: dict = field(default_factory=dict, repr=False, compare=False)


def _scaled(value) -> int:
    """A threshold (<= 4 decimals) in integer 1/10,000."""
    return int((Decimal(str(value)) * UNIT).to_integral_value(ROUND_HALF_EVEN))


def to_money(units) -> Decimal:
    """Integer 1/10,000 (or an exact Decimal of them) -> Decimal rounded half-even to the cent."""
    return (Decimal(units) / UNIT).quantize(CENT, ROUND_HALF_EVEN)


def _float_money(value) -> Decimal:
    return _float_decimal(value).quantize(CENT, ROUND_HALF_EVEN)


def _float_decimal(value) -> Decimal:
    """A float figure of the run (a score's net profit) as the decimal it prints as, unrounded: a
    difference of two of them is rounded to the cent once, at the end (rounding each first is a cent
    off in about one difference in five)."""
    return Decimal(repr(float(value))) if pd.notna(value) else Decimal(0)


def _stake(amount: Decimal) -> Decimal:
    return amount if amount > 0 else Decimal("0.00")


def _int(value) -> int:
    return int(value)


def _pct(ratio: float) -> str:
    return f"{ratio:.0%}"


def _bought(money: str, net: int, what: str = "") -> str:
    """What a customer bought, `net` of its returns (in units; `money` is it in words): "bought $690"
    or "bought $690 of Pumps", or, when its returns outweighed its purchases, "returned more than it
    bought (net -$867)" or "returned more Pumps than it bought (net -$247)" rather than "bought -$867"."""
    if net >= 0:
        return f"bought {money} of {what}" if what else f"bought {money}"
    return f"returned more {what + ' ' if what else ''}than it bought (net {money})"


def _customer_word(row) -> str:
    name = row.get("name") or ""
    return f"{name} ({row['account']})" if name else str(row["account"])


@dataclass
class LineKeys:
    """`RuleInput.lines` as numpy columns with dense integer codes (built once per input by `_keys`):
    customers and products are numbered in the order of their pks, so grouping by a code orders as
    grouping by the pk would, and a (customer, product, age) key is one int64 to sort or count."""

    customers: np.ndarray  # the distinct customer pks, sorted; `customer` indexes it
    customer: np.ndarray
    products: np.ndarray  # the distinct product pks, sorted; `product` indexes it
    product: np.ndarray
    age: np.ndarray
    units: np.ndarray
    kept: np.ndarray  # bool: a non-return line (or a day with one)

    def codes_of(self, pks: pd.Series) -> np.ndarray:
        """Bool per customer code: its pk is in `pks`."""
        return np.isin(self.customers, pks.to_numpy(dtype="int64"))


def _keys(data: RuleInput) -> LineKeys:
    if "keys" not in data.cache:
        lines = data.lines
        customers, customer = _codes(lines["customer"].to_numpy(dtype="int64"))
        products, product = _codes(lines["product"].to_numpy(dtype="int64"))
        data.cache["keys"] = LineKeys(
            customers=customers, customer=customer, products=products, product=product,
            age=lines["age"].to_numpy(dtype="int64"), units=lines["units"].to_numpy(dtype="int64"),
            kept=lines["kept"].to_numpy() > 0,
        )  # fmt: skip
    return data.cache["keys"]


def _codes(pks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct `pks` sorted, each value's index among them)."""
    if not len(pks):
        return pks.astype("int64"), pks.astype("int64")
    low = int(pks.min())
    uniques, index = _compact(pks - low, int(pks.max()) - low + 1)
    return uniques + low, index


def _sum_by(codes: np.ndarray, units: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of `units` per code in [0, n). `np.bincount` adds in float64, exact while
    every partial sum stays below 2**53 (below the sum of the absolute values, usually); otherwise the
    units are added as two halves, the low 26 bits (sums below 2**53 up to 2**27 values a code) and
    the rest (at most 2**37 a value), then recombined."""
    if np.abs(units).sum(dtype="float64") < 2**52:
        return np.bincount(codes, weights=units, minlength=n).astype("int64")
    low = units & ((1 << 26) - 1)
    high = units >> 26
    low_sum = np.bincount(codes, weights=low, minlength=n).astype("int64")
    high_sum = np.bincount(codes, weights=high, minlength=n).astype("int64")
    return (high_sum << 26) + low_sum


def _window(data: RuleInput) -> np.ndarray:
    age = _keys(data).age
    return (age >= 0) & (age < data.window_days)


def _prior(data: RuleInput) -> np.ndarray:
    age = _keys(data).age
    return (age >= data.window_days) & (age < 2 * data.window_days)


def _recent_and_year_earlier(age: np.ndarray, recent_days: int) -> tuple[np.ndarray, np.ndarray]:
    return (age >= 0) & (age < recent_days), (age >= YEAR) & (age < YEAR + recent_days)


def _customer_sums(data: RuleInput, recent_days: int) -> pd.DataFrame:
    """Per customer with lines (index: pk), net revenue in units: `window`, `prior` (window), `recent`
    (the last `recent_days`) and `earlier` (the same days a year earlier)."""
    key = ("customer_sums", recent_days)
    if key not in data.cache:
        k = _keys(data)
        recent, earlier = _recent_and_year_earlier(k.age, recent_days)
        spans = {"window": _window(data), "prior": _prior(data), "recent": recent, "earlier": earlier}
        n = len(k.customers)
        data.cache[key] = pd.DataFrame(
            {name: _sum_by(k.customer[mask], k.units[mask], n) for name, mask in spans.items()}, index=k.customers
        )
    return data.cache[key]


def _date_groups(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the first row, the number of rows) of each run of equal values of sorted `group`."""
    first = np.ones(len(group), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    starts = np.flatnonzero(first)
    return starts, np.diff(np.append(starts, len(group))).astype("int64")


def _median_gaps(age: np.ndarray, starts: np.ndarray, counts: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per group of distinct dates (`age` sorted within each group of `_date_groups`), the median gap
    between consecutive dates for the `wanted` groups of two dates or more (the middle gap, or the
    mean of the two middle ones); NaN for the others. The gaps are sorted within their group by one
    sort of (group, gap) keys."""
    median = np.full(len(starts), np.nan)
    wanted = wanted & (counts >= 2)
    if not wanted.any():
        return median
    rows = np.repeat(wanted, counts)
    first = np.zeros(len(age), dtype=bool)
    first[starts] = True
    sub_age, sub_first = age[rows], first[rows]
    gaps = (sub_age[1:] - sub_age[:-1])[~sub_first[1:]]  # the gaps within each wanted group
    n_gaps = counts[wanted] - 1
    group = np.repeat(np.arange(len(n_gaps)), n_gaps)
    span = int(gaps.max()) + 1
    ordered = np.sort(group * span + gaps) % span
    ends = np.cumsum(n_gaps)
    begins = ends - n_gaps
    low, high = ordered[begins + (n_gaps - 1) // 2], ordered[begins + n_gaps // 2]
    median[wanted] = (low.astype("float64") + high.astype("float64")) / 2
    return median


def _people(data: RuleInput) -> dict:
    """customer pk -> (account, the words naming it, segment), built once per input from whole columns
    (the loops that word the alerts look customers up here)."""
    if "people" not in data.cache:
        scores = data.scores
        names = scores["name"].tolist() if "name" in scores.columns else [""] * len(scores)
        accounts = scores["account"].tolist()
        words = [_customer_word({"name": n, "account": a}) for n, a in zip(names, accounts, strict=True)]
        data.cache["people"] = dict(
            zip(scores["customer"].tolist(), zip(accounts, words, scores["segment"].tolist(), strict=True), strict=True)
        )
    return data.cache["people"]


# --- risk, per customer -----------------------------------------------------------------------------


def moved_down(data: RuleInput, s: dict) -> list[dict]:
    scores = data.scores
    order = {seg: i for i, seg in enumerate(SEGMENT_ORDER)}
    now = scores["segment"].map(order)
    before = scores["previous_segment"].map(order)
    hit = scores[before.notna() & now.notna() & (now > before)]
    if hit.empty:
        return []
    prev_np = data.previous.set_index("customer")["net_profit"] if len(data.previous) else pd.Series(dtype=float)
    out = []
    for row in hit.to_dict("records"):
        before = _float_decimal(prev_np.get(row["customer"], 0.0))
        now = _float_decimal(row["net_profit"]) if row["segment"] != "lapsed" else Decimal(0)
        before_np, now_np = before.quantize(CENT, ROUND_HALF_EVEN), now.quantize(CENT, ROUND_HALF_EVEN)
        change = (now - before).quantize(CENT, ROUND_HALF_EVEN)
        out.append(
            {
                "customer": row["customer"],
                "subject_type": "customer",
                "subject": row["account"],
                "amount": abs(change),
                "figures": {
                    "from_segment": row["previous_segment"],
                    "to_segment": row["segment"],
                    "net_profit_before": str(before_np),
                    "net_profit_now": str(now_np),
                    "net_profit_change": str(change),
                },
                "message": (
                    f"{_customer_word(row)} moved down from {SEGMENT_WORDS[row['previous_segment']]} to "
                    f"{SEGMENT_WORDS[row['segment']]} since the previous run; its window net profit went from "
                    f"{data.money(before_np)} to {data.money(now_np)} ({'+' if change >= 0 else '-'}"
                    f"{data.money(abs(change))})."
                ),
            }
        )
    return out


def lapsed(data: RuleInput, s: dict) -> list[dict]:
    scores = data.scores
    hit = scores[(scores["segment"] == "lapsed") & scores["previous_segment"].isin(RANKED)]
    if hit.empty:
        return []
    prior = _customer_sums(data, int(s["recent_days"]))["prior"]
    out = []
    for row in hit.to_dict("records"):
        units = _int(prior.get(row["customer"], 0))
        amount = to_money(units)
        out.append(
            {
                "customer": row["customer"],
                "subject_type": "customer",
                "subject": row["account"],
                "amount": _stake(amount),
                "figures": {"previous_segment": row["previous_segment"], "prior_window_revenue": str(amount)},
                "message": (
                    f"{_customer_word(row)} was {SEGMENT_WORDS[row['previous_segment']]} in the previous run and "
                    f"bought nothing in the last {data.window_days} days; it bought {data.money(amount)} in the "
                    "window before."
                ),
            }
        )
    return out


def slipping(data: RuleInput, s: dict) -> list[dict]:
    scores = data.scores
    who = scores[scores["segment"].isin(("core", "service_drain"))]
    if who.empty:
        return []
    recent_days = int(s["recent_days"])
    sums = _customer_sums(data, recent_days)
    r = sums["recent"].reindex(who["customer"], fill_value=0)
    y = sums["earlier"].reindex(who["customer"], fill_value=0)
    keep = UNIT - _scaled(s["slip_drop"])
    fired = (y.to_numpy() > 0) & (r.to_numpy().astype(object) * UNIT < y.to_numpy().astype(object) * keep)
    out = []
    for row, rv, yv in zip(who.loc[fired].to_dict("records"), r[fired].tolist(), y[fired].tolist(), strict=True):
        amount = to_money(yv - rv)
        drop = 1 - rv / yv
        out.append(
            {
                "customer": row["customer"],
                "subject_type": "customer",
                "subject": row["account"],
                "amount": _stake(amount),
                "figures": {
                    "recent_revenue": str(to_money(rv)),
                    "year_earlier_revenue": str(to_money(yv)),
                    "drop": round(drop, 4),
                    "recent_days": recent_days,
                },
                "message": (
                    f"{_customer_word(row)} {_bought(data.money(to_money(rv)), rv)} in the last {recent_days} days "
                    f"against {data.money(to_money(yv))} in the same days a year earlier"
                    + (f" ({_pct(drop)} less)." if rv >= 0 else ".")
                ),
            }
        )
    return out


# Key ranges up to this size are marked in a bool array (64 MB at most) instead of sorted.
_MARK_LIMIT = 1 << 26


def _distinct_dates(group: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (group, age) pairs (ages >= 0), sorted by group, then age: one int64 key each."""
    if not len(age):
        return group, age
    span = int(age.max()) + 1
    size = (int(group.max()) + 1) * span
    if size <= _MARK_LIMIT:  # mark the keys present: no sort
        present = np.zeros(size, dtype=bool)
        present[group * span + age] = True
        keys = np.flatnonzero(present)
    else:
        keys = np.sort(group * span + age)  # (np.unique hashes first: slower on millions of keys)
        keys = keys[np.append(True, keys[1:] != keys[:-1])]
    return keys // span, keys % span


def overdue(data: RuleInput, s: dict) -> list[dict]:
    k = _keys(data)
    ordered = _window(data) & k.kept  # order dates: days with a non-return line
    if not ordered.any():
        return []
    customer, age = _distinct_dates(k.customer[ordered], k.age[ordered])
    starts, counts = _date_groups(customer)
    enough = counts >= int(s["overdue_min_orders"])
    stats = pd.DataFrame(
        {
            "customer": k.customers[customer[starts][enough]],
            "dates": counts[enough],
            "median_gap": _median_gaps(age, starts, counts, enough)[enough],
            "last_age": age[starts][enough],
        }
    )
    factor = _scaled(s["overdue_factor"])
    # days > factor x median: in halves of a day and 1/10,000 (a median may end in .5).
    days = stats["last_age"].astype("int64")
    twice_median = (stats["median_gap"] * 2).round().astype("int64")
    fired = (days * 2 * UNIT > twice_median * factor) & (days > int(s["overdue_min_days"]))
    stats = stats[fired.to_numpy()]
    if stats.empty:
        return []
    revenue = _customer_sums(data, int(s["recent_days"]))["window"]
    who = _people(data)
    out = []
    for cpk, n, median, last_age in stats[["customer", "dates", "median_gap", "last_age"]].itertuples(index=False):
        if cpk not in who:
            continue
        account, word, _ = who[cpk]
        units = _int(revenue.get(cpk, 0))
        median_d = Decimal(repr(float(median)))
        overdue_days = Decimal(int(last_age)) - median_d
        amount = to_money(Decimal(units) * overdue_days / Decimal(data.window_days))
        per_30 = to_money(Decimal(units) * 30 / Decimal(data.window_days))
        out.append(
            {
                "customer": cpk,
                "subject_type": "customer",
                "subject": account,
                "amount": _stake(amount),
                "figures": {
                    "days_since_last_order": int(last_age),
                    "median_gap_days": float(median),
                    "order_dates": int(n),
                    "days_overdue": float(overdue_days),
                    "revenue_per_30_days": str(per_30),
                },
                "message": (
                    f"{word} usually orders every {float(median):g} days ({int(n)} order dates in "
                    f"the window) but has not ordered for {int(last_age)} days; at {data.money(per_30)} per 30 days, "
                    f"{float(overdue_days):g} days overdue is about {data.money(_stake(amount))}."
                ),
            }
        )
    return out


def _product_codes(data: RuleInput, column: str) -> tuple[pd.Series, np.ndarray]:
    """(product pk -> code of its `column` value, the values by code): codes number the non-empty
    values in sorted order (so grouping by code orders as grouping by value would); -1 is empty."""
    key = ("codes", column)
    if key not in data.cache:
        values = data.products[column].tolist()
        names = sorted({v for v in values if v != ""})
        code_of = {name: i for i, name in enumerate(names)}
        codes = pd.Series(
            [code_of.get(v, -1) for v in values], index=data.products["product"].to_numpy(), dtype="int64"
        )
        data.cache[key] = (codes, np.array(names, dtype=object))
    return data.cache[key]


def _line_values(data: RuleInput, column: str) -> np.ndarray:
    """Per line, the code of its product's `column` (-1: empty or unknown product)."""
    key = ("line_values", column)
    if key not in data.cache:
        codes, _ = _product_codes(data, column)
        k = _keys(data)
        data.cache[key] = codes.reindex(k.products).fillna(-1).to_numpy(dtype="int64")[k.product]
    return data.cache[key]


def _compact(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct `keys` sorted, each key's index among them) for keys in [0, size): by counting
    when the range is small, else by sorting."""
    if size <= max(4 * len(keys), 1 << 20):
        present = np.bincount(keys, minlength=size) > 0
        return np.flatnonzero(present), (np.cumsum(present) - 1)[keys]
    order = np.argsort(keys)
    ordered = keys[order]
    first = np.append(True, ordered[1:] != ordered[:-1])
    index = np.empty(len(keys), dtype="int64")
    index[order] = np.cumsum(first) - 1
    return ordered[first], index


def category_leakage(data: RuleInput, s: dict) -> list[dict]:
    scores = data.scores
    core = scores[scores["segment"] == "core"]
    if core.empty:
        return []
    k = _keys(data)
    _, category_names = _product_codes(data, "category")
    category, window = _line_values(data, "category"), _window(data)
    # The core customers' lines of the window and the prior window in a named category, per cell.
    named = k.codes_of(core["customer"])[k.customer] & (category >= 0) & (window | _prior(data))
    n_categories = len(category_names)
    cell_keys, cell = _compact(k.customer[named] * n_categories + category[named], len(k.customers) * n_categories)
    in_window, units = window[named], k.units[named]
    n = len(cell_keys)
    cells = pd.DataFrame(
        {
            "customer": k.customers[cell_keys // n_categories],
            "category": cell_keys % n_categories,
            "prior": _sum_by(cell[~in_window], units[~in_window], n),
            "window": _sum_by(cell[in_window], units[in_window], n),
        }
    )[np.bincount(cell[~in_window], minlength=n) > 0]  # the cells bought in the prior window
    if cells.empty:
        return []
    totals = _customer_sums(data, int(s["recent_days"]))
    cells["prior_total"] = totals["prior"].reindex(cells["customer"]).to_numpy()
    cells["window_total"] = totals["window"].reindex(cells["customer"]).to_numpy()
    share, keep, floor = _scaled(s["leak_min_share"]), UNIT - _scaled(s["leak_drop"]), _scaled(s["leak_total_floor"])
    o = lambda c: cells[c].to_numpy().astype(object)  # noqa: E731  (exact Python integers)
    fired = (
        (o("prior_total") > 0)
        & (o("prior") * UNIT >= o("prior_total") * share)
        & (o("window") * UNIT < o("prior") * keep)
        & (o("window_total") * UNIT >= o("prior_total") * floor)
    )
    who = _people(data)
    hit = cells.loc[fired.astype(bool)]
    out = []
    for cpk, category, prior, window, p_total, w_total in zip(
        hit["customer"].tolist(), category_names[hit["category"].to_numpy()].tolist(), hit["prior"].tolist(),
        hit["window"].tolist(), hit["prior_total"].tolist(), hit["window_total"].tolist(), strict=True,
    ):  # fmt: skip
        word = who[cpk][1]
        amount = to_money(prior - window)
        window_m, prior_m, w_total_m, p_total_m = (
            to_money(window),
            to_money(prior),
            to_money(w_total),
            to_money(p_total),
        )
        out.append(
            {
                "customer": cpk,
                "subject_type": "category",
                "subject": category,
                "amount": _stake(amount),
                "figures": {
                    "category_window_revenue": str(window_m),
                    "category_prior_revenue": str(prior_m),
                    "window_revenue": str(w_total_m),
                    "prior_window_revenue": str(p_total_m),
                },
                "message": (
                    f"{word}, a core customer, {_bought(data.money(window_m), window, category)} in the last "
                    f"{data.window_days} days against {data.money(prior_m)} the window before, while "
                    f"its total held ({data.money(w_total_m)} against {data.money(p_total_m)}): it "
                    "may be buying the category elsewhere."
                ),
            }
        )
    return out


# --- opportunity, per customer ------------------------------------------------------------------------


def category_gap(data: RuleInput, s: dict) -> list[dict]:
    """One alert per (customer, popular category) it did not buy: the figures and words of a category
    are the same for every customer missing it, so they are worked out once per category; the pairs
    are found over whole columns (integer keys)."""
    scores = data.scores
    core_ids = scores.loc[scores["segment"] == "core", "customer"]
    if core_ids.empty:
        return []
    n_core = len(core_ids)
    k = _keys(data)
    _, category_names = _product_codes(data, "category")
    n_categories = len(category_names)
    category = _line_values(data, "category")
    named = _window(data) & (category >= 0)
    # (customer code, category) cells of the window's lines in a named category, and those bought.
    cell_keys, cell = _compact(k.customer[named] * n_categories + category[named], len(k.customers) * n_categories)
    bought = np.bincount(cell[k.kept[named]], minlength=len(cell_keys)) > 0
    bought_customer, bought_category = cell_keys[bought] // n_categories, cell_keys[bought] % n_categories
    core_bought = k.codes_of(core_ids)[bought_customer]
    buyers = np.bincount(bought_category[core_bought], minlength=n_categories)
    share = _scaled(s["gap_core_share"])
    popular = np.flatnonzero((buyers > 0) & (buyers * UNIT >= n_core * share))
    if not len(popular):
        return []
    # The median, per category, of the core buyers' window revenue there.
    revenue = _sum_by(cell, k.units[named], len(cell_keys))[bought][core_bought]
    medians = pd.Series(revenue).groupby(bought_category[core_bought]).median()
    who = scores.loc[scores["segment"].isin(("core", "service_drain", "opportunistic")), "customer"].to_numpy()
    # Every (customer, popular category), customer by customer, less the pairs it bought.
    span = int(n_categories) + 1
    pair_customer = np.repeat(who.astype("int64"), len(popular))
    pair_category = np.tile(popular.astype("int64"), len(who))
    has = np.isin(pair_customer * span + pair_category, k.customers[bought_customer] * span + bought_category)
    words = {}
    for code in popular.tolist():
        name = category_names[code]
        amount = to_money(Decimal(repr(float(medians[code]))))
        pct = buyers[code] / n_core
        words[code] = (
            name, _stake(amount), round(float(pct), 4), str(amount),
            f" bought no {name} in the last {data.window_days} days, which {_pct(pct)} of core customers buy (a "
            f"median of {data.money(amount)} each).",
        )  # fmt: skip
    people = _people(data)
    out = []
    for cpk, code in zip(pair_customer[~has].tolist(), pair_category[~has].tolist(), strict=True):
        _, word, segment = people[cpk]
        name, stake, pct, median, tail = words[code]
        out.append(
            {
                "customer": cpk,
                "subject_type": "category",
                "subject": name,
                "amount": stake,
                "figures": {"core_buyers_share": pct, "core_median_revenue": median, "segment": segment},
                "message": word + tail,
            }
        )
    return out


def replenishment_due(data: RuleInput, s: dict) -> list[dict]:
    k = _keys(data)
    span = _window(data) | _prior(data)
    dated = span & k.kept  # purchase dates: days with a non-return line of the product
    if not dated.any():
        return []
    n_products = len(k.products)
    min_dates = int(s["replenish_min_dates"])
    pairs, ages = _distinct_dates(k.customer[dated] * n_products + k.product[dated], k.age[dated])
    starts, counts = _date_groups(pairs)
    pair, last_age = pairs[starts], ages[starts]
    cycles = data.products.set_index("product")["cycle"].reindex(k.products).to_numpy(dtype="float64", copy=True)
    cycles[~(cycles > 0)] = np.nan
    known = cycles[pair % n_products] if not np.isnan(cycles).all() else np.full(len(pair), np.nan)
    # The customer's own cycle only for pairs without a product cycle, bought on enough dates.
    learnt = _median_gaps(ages, starts, counts, np.isnan(known) & (counts >= min_dates))
    cycle = np.where(np.isnan(known), learnt, known)
    fired = (last_age >= cycle) & (last_age < 2 * cycle)  # never for a NaN cycle
    if not fired.any():
        return []
    due = pair[fired]
    stats = pd.DataFrame(
        {
            "customer": k.customers[due // n_products], "product": k.products[due % n_products],
            "dates": counts[fired], "last_age": last_age[fired], "cycle": cycle[fired],
            "source": np.where(np.isnan(known[fired]), "history", "product"),
        }
    )  # fmt: skip
    # Each due pair's net revenue in the two windows (every line, returns included).
    due_customer, due_product = np.zeros(len(k.customers), dtype=bool), np.zeros(n_products, dtype=bool)
    due_customer[due // n_products], due_product[due % n_products] = True, True
    mine = span & due_customer[k.customer] & due_product[k.product]
    line_pair = k.customer[mine] * n_products + k.product[mine]
    at = np.minimum(np.searchsorted(due, line_pair), len(due) - 1)
    hit = due[at] == line_pair
    stats = stats.assign(units=_sum_by(at[hit], k.units[mine][hit], len(due)))
    products = data.products.set_index("product")[["product_id", "name"]].to_dict("index")
    people = _people(data)
    out = []
    for cpk, ppk, n, last_age, cycle, source, units in stats[
        ["customer", "product", "dates", "last_age", "cycle", "source", "units"]
    ].itertuples(index=False):
        if cpk not in people:
            continue
        word = people[cpk][1]
        product = products[ppk]
        units = _int(units)
        amount = to_money(Decimal(units) / int(n))
        label = product["product_id"] + (f" ({product['name']})" if product.get("name") else "")
        how = "its replacement cycle" if source == "product" else "the customer's usual interval"
        out.append(
            {
                "customer": cpk,
                "subject_type": "product",
                "subject": product["product_id"],
                "amount": _stake(amount),
                "figures": {
                    "cycle_days": float(cycle),
                    "cycle_source": source,
                    "days_since_last_purchase": int(last_age),
                    "purchase_dates": int(n),
                    "average_revenue_per_purchase": str(amount),
                },
                "message": (
                    f"{word} last bought {label} {int(last_age)} days ago; {how} is "
                    f"{float(cycle):g} days, so it is due for replacement (about {data.money(amount)} a purchase)."
                ),
            }
        )
    return out


def near_core(data: RuleInput, s: dict) -> list[dict]:
    scores = data.scores
    core = scores[scores["segment"] == "core"]
    if core.empty:
        return []
    gap = float(s["near_core_gap"])
    v_t, p_t = 1 - data.value_top_share, 1 - data.profit_top_share
    opp = scores[(scores["segment"] == "opportunistic") & (scores["value_rank"] <= v_t)]
    opp = opp[v_t - opp["value_rank"] <= gap + 1e-12]
    drain = scores[(scores["segment"] == "service_drain") & (scores["profit_rank"] <= p_t)]
    drain = drain[p_t - drain["profit_rank"] <= gap + 1e-12]
    if opp.empty and drain.empty:
        return []
    ordered = sorted(_float_decimal(v) for v in core["net_profit"].tolist())
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    median_np = median.quantize(CENT, ROUND_HALF_EVEN)
    core_p = pd.DataFrame(list(core["percentiles"]), index=core.index)
    out = []
    for who, axis, weights, threshold, rank_col in (
        (opp, "value", data.value_weights, v_t, "value_rank"),
        (drain, "profit", data.profit_weights, p_t, "profit_rank"),
    ):
        if who.empty:
            continue
        weights = {k: float(v) for k, v in weights.items() if float(v) > 0}
        total = sum(weights.values()) or 1.0
        core_median = {k: float(core_p[k].median()) if k in core_p else 0.5 for k in weights}
        mine = pd.DataFrame(list(who["percentiles"]), index=who.index)
        gains = (
            pd.DataFrame(
                {k: (weights[k] * (core_median[k] - mine[k].astype(float)).clip(lower=0)) / total for k in weights},
                index=who.index,
            )
            if weights
            else pd.DataFrame(index=who.index)
        )
        # The factor that would add most (the first of equals), for the customers where one adds anything.
        bests: list = [None] * len(who)
        if gains.shape[1]:
            adds = (gains.max(axis=1) > 0).to_numpy()
            if adds.any():
                for i, best in zip(np.flatnonzero(adds).tolist(), gains[adds].idxmax(axis=1).tolist(), strict=True):
                    bests[i] = best
        people = _people(data)
        columns = ["customer", "segment", "net_profit", rank_col]
        for row, best in zip(who[columns].to_dict("records"), bests, strict=True):
            own = _float_money(row["net_profit"])
            amount = _stake((median - _float_decimal(row["net_profit"])).quantize(CENT, ROUND_HALF_EVEN))
            account, word, _ = people[row["customer"]]
            factor_words = (
                f"raising its {best.replace('_', ' ')} to the core median would add most to its {axis} score"
                if best
                else f"no single factor stands out on its {axis} score"
            )
            out.append(
                {
                    "customer": row["customer"],
                    "subject_type": "customer",
                    "subject": account,
                    "amount": amount,
                    "figures": {
                        "axis": axis,
                        "rank": round(float(row[rank_col]), 4),
                        "threshold": round(threshold, 4),
                        "factor": best or "",
                        "median_core_net_profit": str(median_np),
                        "net_profit": str(own),
                    },
                    "message": (
                        f"{word} is {SEGMENT_WORDS[row['segment']]} and only "
                        f"{threshold - float(row[rank_col]):.1%} short of the {axis} threshold of core; "
                        f"{factor_words}. The median core customer makes {data.money(median_np)} net profit, "
                        f"this one {data.money(own)}."
                    ),
                }
            )
    return out


def cost_to_serve_fix(data: RuleInput, s: dict) -> list[dict]:
    scores = data.scores
    priced = scores[(scores["revenue"] > 0) & scores["cost_to_serve"].notna()].copy()
    core = priced[priced["segment"] == "core"]
    drain = priced[priced["segment"] == "service_drain"]
    if core.empty or drain.empty:
        return []
    ratio = lambda f: f["cost_to_serve"] / f["revenue"] * 1000  # noqa: E731
    core_median = float(ratio(core).median())
    excess = 1 + float(s["cost_excess"])
    drain = drain.assign(ratio=ratio(drain))
    drain = drain[drain["ratio"] >= excess * core_median - 1e-9]
    if drain.empty:
        return []
    costs = data.costs.set_index("customer") if len(data.costs) else pd.DataFrame(columns=ACTIVITY_COLUMNS)
    per_k = lambda f: costs.reindex(f["customer"]).fillna(0).to_numpy() / f["revenue"].to_numpy()[:, None] * 1000  # noqa: E731
    core_parts = np.median(per_k(core), axis=0) if len(costs.columns) else np.zeros(len(ACTIVITIES))
    drain_parts = per_k(drain) if len(costs.columns) else np.zeros((len(drain), len(ACTIVITIES)))
    above = drain_parts - core_parts
    out = []
    for i, row in enumerate(drain.to_dict("records")):
        worst = ACTIVITIES[int(np.argmax(above[i]))]
        saved = Decimal(repr(float(row["cost_to_serve"] - core_median * row["revenue"] / 1000)))
        amount = _stake(saved.quantize(CENT, ROUND_HALF_EVEN))
        out.append(
            {
                "customer": row["customer"],
                "subject_type": "customer",
                "subject": row["account"],
                "amount": amount,
                "figures": {
                    "cost_per_1000": round(float(row["ratio"]), 2),
                    "core_median_cost_per_1000": round(core_median, 2),
                    "activity": worst,
                    "activity_cost_per_1000": round(float(drain_parts[i][ACTIVITIES.index(worst)]), 2),
                    "core_activity_cost_per_1000": round(float(core_parts[ACTIVITIES.index(worst)]), 2),
                },
                "message": (
                    f"{_customer_word(row)} costs {data.money(row['ratio'])} to serve per 1,000 of revenue against "
                    f"{data.money(core_median)} for the median core customer; {worst} are furthest above the core "
                    f"median. At the core ratio it would cost {data.money(amount)} less."
                ),
            }
        )
    return out


# --- risk, for the whole distributor -------------------------------------------------------------------

SLOWDOWN_DIMENSIONS = (("category", "category"), ("brand", "brand"), ("supplier", "supplier_id"))


def core_slowdown(data: RuleInput, s: dict) -> list[dict]:
    scores = data.scores
    core = scores[scores["segment"] == "core"]
    if core.empty:
        return []
    recent_days = int(s["recent_days"])
    k = _keys(data)
    sums = _customer_sums(data, recent_days)
    of_core = sums.index.isin(core["customer"])
    y_tot, r_tot = int(sums["earlier"][of_core].sum()), int(sums["recent"][of_core].sum())
    if y_tot <= 0 or r_tot * UNIT < y_tot * _scaled(s["slowdown_total_floor"]):
        return []
    recent, earlier = _recent_and_year_earlier(k.age, recent_days)
    core_lines = k.codes_of(core["customer"])[k.customer]
    share, keep = _scaled(s["slowdown_min_share"]), UNIT - _scaled(s["slowdown_drop"])
    people = _people(data)
    out = []
    for subject_type, column in SLOWDOWN_DIMENSIONS:
        _, value_names = _product_codes(data, column)
        values = _line_values(data, column)
        named = core_lines & (values >= 0)
        in_earlier, in_recent = named & earlier, named & recent
        n = len(value_names)
        seen = np.flatnonzero(np.bincount(values[in_earlier], minlength=n) > 0)  # values bought a year earlier
        y = pd.Series(_sum_by(values[in_earlier], k.units[in_earlier], n)[seen], index=seen)
        r = pd.Series(_sum_by(values[in_recent], k.units[in_recent], n)[seen], index=seen)
        yo, ro = y.astype(object), r.astype(object)
        fired = y.index[((yo * UNIT >= y_tot * share) & (yo > 0) & (ro * UNIT < yo * keep)).to_numpy().astype(bool)]
        if not len(fired):
            continue
        # Per (fired value, core customer): a year earlier and recent, in one grouping for all of them.
        chosen = (in_earlier | in_recent) & np.isin(values, fired.to_numpy())
        mine = pd.DataFrame(
            {column: values[chosen], "customer": k.customers[k.customer[chosen]], "units": k.units[chosen],
             "recent": recent[chosen], "earlier": earlier[chosen]}
        )  # fmt: skip
        by_customer = [column, "customer"]
        cy_all = mine.loc[mine["earlier"]].groupby(by_customer)["units"].sum()
        cr_all = mine.loc[mine["recent"]].groupby(by_customer)["units"].sum()
        recent_values = set(cr_all.index.get_level_values(0))
        for code in fired.tolist():
            value = value_names[code]
            cy = cy_all.xs(code, level=0)
            cr = cr_all.xs(code, level=0) if code in recent_values else pd.Series(dtype="int64")
            cr = cr.reindex(cy.index, fill_value=0)
            cut = (cy - cr).sort_values(ascending=False, kind="stable")
            cut = cut[cut > 0].head(5)
            cutters = [{"customer_id": people[c][0], "cut": str(to_money(int(v)))} for c, v in cut.items()]
            yv, rv = int(y[code]), int(r[code])
            amount = to_money(yv - rv)
            who = ", ".join(f"{c['customer_id']} ({data.money(Decimal(c['cut']))})" for c in cutters)
            out.append(
                {
                    "customer": None,
                    "subject_type": subject_type,
                    "subject": str(value),
                    "amount": _stake(amount),
                    "figures": {
                        "recent_revenue": str(to_money(rv)),
                        "year_earlier_revenue": str(to_money(yv)),
                        "core_recent_total": str(to_money(r_tot)),
                        "core_year_earlier_total": str(to_money(y_tot)),
                        "recent_days": recent_days,
                        "cut_most": cutters,
                    },
                    "message": (
                        f"Core customers bought {data.money(to_money(rv))} of {subject_type} {value} in the last "
                        f"{recent_days} days against {data.money(to_money(yv))} a year earlier, while their total "
                        "held: pricing or a competitor may be the cause. Cut most: " + (who or "none") + "."
                    ),
                }
            )
    return out


SHIFT_GROUPS = (("branch", "branch"), ("customer_class", "customer_class"), ("rep", "rep_code"))


def segment_shift(data: RuleInput, s: dict) -> list[dict]:
    scores, previous = data.scores, data.previous
    if previous.empty:
        return []
    attrs = data.previous_attrs
    if attrs.empty:
        attrs = scores[["customer", "branch", "customer_class", "rep_code"]]
    # The previous run's customers, grouped by their current branch, class and rep.
    prev = previous.merge(attrs, on="customer", how="left")
    for col in ("branch", "customer_class", "rep_code"):
        prev[col] = prev[col].fillna("")
    now_seg = scores.set_index("customer")["segment"]
    # The previous run's core customers who are not core now (all groups at once).
    left_core = prev[(prev["segment"] == "core") & (prev["customer"].map(now_seg).fillna("") != "core")]
    points = Decimal(str(s["shift_points"]))
    out = []

    def core_counts(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        frame = frame[frame[column] != ""]
        return frame.assign(is_core=frame["segment"] == "core").groupby(column)["is_core"].agg(total="size", core="sum")

    for subject_type, column in SHIFT_GROUPS:
        now, before = core_counts(scores, column), core_counts(prev, column)
        both = now.add_suffix("_now").join(before.add_suffix("_before"), how="inner")
        leavers = left_core.groupby(column)
        for value, core_now, total_now, core_before, total_before in zip(
            both.index.tolist(), both["core_now"].tolist(), both["total_now"].tolist(), both["core_before"].tolist(),
            both["total_before"].tolist(), strict=True,
        ):  # fmt: skip
            share_now = Decimal(int(core_now)) / int(total_now)
            share_before = Decimal(int(core_before)) / int(total_before)
            fall = (share_before - share_now) * 100
            if fall < points:
                continue
            left = leavers.get_group(value) if value in leavers.groups else left_core.iloc[:0]
            amount = _float_money(left["net_profit"].fillna(0).sum()) if len(left) else Decimal("0.00")
            label = {"branch": "Branch", "customer_class": "Customer class", "rep": "Rep"}[subject_type]
            out.append(
                {
                    "customer": None,
                    "subject_type": subject_type,
                    "subject": str(value),
                    "amount": _stake(amount),
                    "figures": {
                        "core_share_before": round(float(share_before), 4),
                        "core_share_now": round(float(share_now), 4),
                        "points_fallen": round(float(fall), 2),
                        "left_core": len(left),
                    },
                    "message": (
                        f"{label} {value}: core customers fell from {float(share_before):.0%} to "
                        f"{float(share_now):.0%} of its customers since the previous run ({len(left)} left core, "
                        f"{data.money(amount)} net profit between them in the previous run)."
                    ),
                }
            )
    return out


RULES: dict[str, Callable[[RuleInput, dict], list[dict]]] = {
    "moved_down": moved_down,
    "lapsed": lapsed,
    "slipping": slipping,
    "overdue": overdue,
    "category_leakage": category_leakage,
    "category_gap": category_gap,
    "replenishment_due": replenishment_due,
    "near_core": near_core,
    "cost_to_serve_fix": cost_to_serve_fix,
    "core_slowdown": core_slowdown,
    "segment_shift": segment_shift,
}
