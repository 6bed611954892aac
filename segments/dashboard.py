"""Page selectors: what the dashboard, my-customers, customer and scorecard pages read.

Everything here reads a published run (immutable), so results are computed once in SQL (GROUP BY)
or pandas over whole columns and cached per (tenant, run): a page never grows with the number of
customers in queries, and after the first visit not in work either.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db.models import Avg, Case, Count, F, FilteredRelation, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from sales.models import CustomerMonth, InvoiceLine
from sales.selectors import customer_list

from .models import RANKED_SEGMENTS, SEGMENT_CHOICES, CustomerScore, StratificationProfile, StratificationRun

SEGMENT_LABELS: dict[str, str] = dict(SEGMENT_CHOICES)
# The order pages list segments in, best first. Profit comes before value: a service-drain customer
# buys a lot but loses money, so an opportunistic (profitable) one ranks above it.
SEGMENT_ORDER: tuple[str, ...] = ("core", "opportunistic", "service_drain", "marginal", "lapsed")
SEGMENT_RANK: dict[str, int] = {s: i for i, s in enumerate(SEGMENT_ORDER)}
SEGMENT_COLORS: dict[str, str] = {
    "core": "#198754",
    "service_drain": "#fd7e14",
    "opportunistic": "#0d6efd",
    "marginal": "#6c757d",
    "lapsed": "#dc3545",
}
MONEY_FIELDS: tuple[str, ...] = ("revenue", "gross_margin", "cost_to_serve", "net_profit")
CACHE_SECONDS = 6 * 3600

# "Needs attention" rules, in SQL (for the filter) and in words (for the table). Thresholds are
# deliberately simple: they point a rep at an account, the reasons say why.
STALE_DAYS = 90
GROWTH_DROP = -0.2


def segment_rank_expr(field: str) -> Case:
    return Case(
        *[When(**{field: s}, then=Value(i)) for s, i in SEGMENT_RANK.items()],
        default=Value(None),
        output_field=IntegerField(),
    )


def movement_of(segment: str | None, previous: str | None) -> str:
    """'up', 'down', 'same' or 'new' (no previous segment)."""
    if not segment:
        return ""
    if not previous:
        return "new"
    a, b = SEGMENT_RANK.get(segment, 99), SEGMENT_RANK.get(previous, 99)
    return "same" if a == b else ("up" if a < b else "down")


def movement_q(movement: str, prefix: str = "") -> Q:
    """SQL condition for a movement, on score fields named `<prefix>segment` / `<prefix>previous_segment`."""
    seg, prev = f"{prefix}segment", f"{prefix}previous_segment"
    if movement == "new":
        return Q(**{f"{seg}__isnull": False}) & (Q(**{prev: ""}) | Q(**{f"{prev}__isnull": True}))
    if movement == "same":
        return Q(**{seg: F(prev)})
    pairs = [
        (a, b)
        for a in SEGMENT_ORDER
        for b in SEGMENT_ORDER
        if (SEGMENT_RANK[a] < SEGMENT_RANK[b] if movement == "up" else SEGMENT_RANK[a] > SEGMENT_RANK[b])
    ]
    q = Q(pk__in=[])
    for a, b in pairs:
        q |= Q(**{seg: a, prev: b})
    return q


def attention_q(prefix: str = "") -> Q:
    p = prefix
    return (
        Q(**{f"{p}segment": "lapsed"})
        | Q(**{f"{p}net_profit__lt": 0})
        | Q(**{f"{p}recency_days__gt": STALE_DAYS})
        | Q(**{f"{p}growth__lt": GROWTH_DROP})
        | movement_q("down", prefix)
    )


def attention_reasons(row) -> list[str]:
    """Why a customer needs attention, in words; `row` has the score fields as attributes."""
    reasons = []
    segment, previous = getattr(row, "segment", None), getattr(row, "previous_segment", None)
    if segment == "lapsed":
        reasons.append("No purchases in the last window")
    if movement_of(segment, previous) == "down":
        reasons.append(f"Dropped from {SEGMENT_LABELS.get(previous, previous)}")
    net_profit = getattr(row, "net_profit", None)
    if net_profit is not None and net_profit < 0:
        reasons.append("Losing money after cost to serve")
    recency = getattr(row, "recency_days", None)
    if recency is not None and recency > STALE_DAYS:
        reasons.append(f"No order for {int(recency)} days")
    growth = getattr(row, "growth", None)
    if growth is not None and growth < GROWTH_DROP:
        reasons.append(f"Revenue down {abs(growth):.0%} on the prior year")
    return reasons


# --- Runs -----------------------------------------------------------------------------------------


def published_runs(*, distributor) -> tuple[StratificationRun | None, StratificationRun | None]:
    """(current, previous) published runs of the tenant; one query."""
    profile = (
        StratificationProfile.objects.filter(distributor=distributor)
        .select_related("current_run", "previous_run")
        .first()
    )
    if profile is None:
        return None, None
    return profile.current_run, profile.previous_run


def _cache_key(distributor, run, name: str) -> str:
    stamp = (run.published_at or run.created_at).timestamp() if (run.published_at or run.created_at) else 0
    return f"stratify:pages:{distributor.pk}:{run.pk}:{stamp}:{name}:v1"


def _cached(distributor, run, name, compute):
    return cache.get_or_set(_cache_key(distributor, run, name), compute, CACHE_SECONDS)


# --- Customers with their current score ----------------------------------------------------------

ROW_FIELDS: tuple[str, ...] = (
    "segment",
    "previous_segment",
    "revenue",
    "gm_pct",
    "net_profit",
    "growth",
    "recency_days",
    "value_score",
    "profit_score",
)


def customer_rows(*, distributor, membership, run):
    """The customers the caller may see (reps: their assigned ones), each annotated with its score in
    `run` (null when not in it): one LEFT JOIN, so filtering, sorting and paging stay in SQL.
    Default order: best segment first (core), then revenue."""
    run_id = run.pk if run is not None else 0
    qs = customer_list(distributor=distributor, membership=membership).annotate(
        # The tenant in the join condition lets PostgreSQL use the (distributor, run, customer) unique
        # index (a nested loop over the rep's customers) instead of scanning every score of the run.
        current=FilteredRelation("scores", condition=Q(scores__run_id=run_id, scores__distributor_id=distributor.pk))
    )
    qs = qs.annotate(**{name: F(f"current__{name}") for name in ROW_FIELDS})
    qs = qs.annotate(seg_rank=segment_rank_expr("segment"))
    return qs.select_related("rep").order_by(
        F("seg_rank").asc(nulls_last=True), F("revenue").desc(nulls_last=True), "customer_id"
    )


# --- Dashboard ------------------------------------------------------------------------------------


def segment_summary(*, distributor, run) -> list[dict]:
    """Per segment (ranked ones, then lapsed): customers and their share of revenue, gross margin,
    cost-to-serve and net profit. One GROUP BY."""

    def compute():
        rows = (
            CustomerScore.objects.filter(distributor=distributor, run=run)
            .values("segment")
            .annotate(count=Count("id"), **{m: Coalesce(Sum(m), 0.0) for m in MONEY_FIELDS})
        )
        by_segment = {r["segment"]: r for r in rows}
        totals = {m: sum(float(r[m]) for r in by_segment.values()) for m in MONEY_FIELDS}
        totals["count"] = sum(r["count"] for r in by_segment.values())
        out = []
        for segment in (*RANKED_SEGMENTS, "lapsed"):
            r = by_segment.get(segment, {"count": 0, **dict.fromkeys(MONEY_FIELDS, 0.0)})
            if segment == "lapsed" and not r["count"]:
                continue
            entry = {"segment": segment, "label": SEGMENT_LABELS[segment], "count": r["count"]}
            entry["count_share"] = r["count"] / totals["count"] if totals["count"] else 0.0
            for m in MONEY_FIELDS:
                entry[m] = float(r[m])
                # Shares of a total that can be negative (net profit) are shown against its absolute size.
                entry[f"{m}_share"] = float(r[m]) / abs(totals[m]) if totals[m] else 0.0
                entry[f"{m}_pct"] = round(entry[f"{m}_share"] * 100, 1)
                entry[f"{m}_bar"] = max(0.0, min(100.0, entry[f"{m}_pct"]))
            entry["count_pct"] = round(entry["count_share"] * 100, 1)
            out.append(entry)
        return {"rows": out, "totals": totals}

    return _cached(distributor, run, "summary", compute)


def quadrant_points(*, distributor, run) -> dict:
    """Every ranked customer as [value_score, profit_score, account, name], grouped by segment
    (Chart.js datasets). One query; rounded to keep the payload small."""

    def compute():
        rows = (
            CustomerScore.objects.filter(distributor=distributor, run=run, value_score__isnull=False)
            .values_list("segment", "value_score", "profit_score", "customer__customer_id", "customer__name")
            .order_by()
        )
        data: dict[str, list] = {s: [] for s in RANKED_SEGMENTS}
        for segment, v, p, account, name in rows.iterator(chunk_size=5000):
            data.setdefault(segment, []).append([round(v, 4), round(p or 0, 4), account, name or account])
        return {
            "datasets": [
                {"segment": s, "label": SEGMENT_LABELS[s], "color": SEGMENT_COLORS[s], "points": pts}
                for s, pts in data.items()
            ],
            "thresholds": _thresholds(run),
        }

    return _cached(distributor, run, "quadrant", compute)


def quadrant_json(*, distributor, run) -> bytes:
    """`quadrant_points` encoded once per run: at 50,000 customers the payload is ~2 MB, and caching
    the bytes (not the dict) saves re-encoding it on every dashboard visit."""
    return _cached(
        distributor,
        run,
        "quadrant_json",
        lambda: json.dumps(quadrant_points(distributor=distributor, run=run)).encode(),
    )


def _thresholds(run) -> dict:
    settings = run.settings or {}
    return {
        "value_top_share": float(settings.get("value_top_share", 0.30)),
        "profit_top_share": float(settings.get("profit_top_share", 0.30)),
    }


def whale_curve(*, distributor, run, max_points: int = 300) -> dict:
    """Cumulative net profit against customers ranked by net profit (best first), as a share of the
    final total; the peak (the most profit the best customers make before the rest give it back).
    pandas over one column; downsampled to `max_points` for the chart, the peak kept exactly."""

    def compute():
        values = np.fromiter(
            (
                v
                for v in CustomerScore.objects.filter(distributor=distributor, run=run, net_profit__isnull=False)
                .exclude(segment="lapsed")
                .values_list("net_profit", flat=True)
                .order_by()
                .iterator(chunk_size=10000)
            ),
            dtype=float,
        )
        n = len(values)
        if n == 0:
            return {"n": 0, "points": [], "peak": None, "total": 0.0}
        cumulative = pd.Series(np.sort(values)[::-1]).cumsum().to_numpy()
        total = float(cumulative[-1])
        peak_index = int(np.argmax(cumulative))
        peak_value = float(cumulative[peak_index])
        scale = abs(total) if total else (abs(peak_value) or 1.0)
        step = max(1, int(np.ceil(n / max_points)))
        idx = sorted(set(range(0, n, step)) | {n - 1, peak_index})
        points = [[round((i + 1) / n * 100, 2), round(cumulative[i] / scale * 100, 2)] for i in idx]
        return {
            "n": n,
            "points": [[0.0, 0.0], *points],
            "total": total,
            "peak": {
                "customers": peak_index + 1,
                "customers_pct": round((peak_index + 1) / n * 100, 2),
                "value": peak_value,
                "pct_of_total": round(peak_value / scale * 100, 2),
            },
        }

    return _cached(distributor, run, "whale", compute)


def migration_matrix(*, distributor, run) -> dict:
    """Customers by (segment in the previous published run, segment now), from the current run's
    `previous_segment`. Rows are 'from' (plus 'new'), columns 'to'. One GROUP BY."""

    def compute():
        rows = (
            CustomerScore.objects.filter(distributor=distributor, run=run)
            .values("previous_segment", "segment")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts = {((r["previous_segment"] or "new"), r["segment"]): r["n"] for r in rows}
        to_segments = [s for s in SEGMENT_ORDER if s != "lapsed" or any(k[1] == "lapsed" for k in counts)]
        from_segments = [s for s in SEGMENT_ORDER if any(k[0] == s for k in counts)]
        if any(k[0] == "new" for k in counts):
            from_segments.append("new")
        matrix = [
            {
                "from": f,
                "label": SEGMENT_LABELS.get(f, "New / not ranked"),
                "cells": [
                    {"to": t, "n": counts.get((f, t), 0), "movement": movement_of(t, "" if f == "new" else f)}
                    for t in to_segments
                ],
            }
            for f in from_segments
        ]
        moved = sum(n for (f, t), n in counts.items() if f != "new" and f != t)
        return {
            "to": [{"segment": t, "label": SEGMENT_LABELS[t]} for t in to_segments],
            "rows": matrix,
            "moved": moved,
            "has_previous": any(f != "new" for f, _ in counts),
        }

    return _cached(distributor, run, "migration", compute)


# --- Customer page and scorecard ------------------------------------------------------------------


def score_for(*, distributor, run, customer) -> CustomerScore | None:
    if run is None:
        return None
    return CustomerScore.objects.filter(distributor=distributor, run=run, customer=customer).first()


def _months_back(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, 1)


def monthly_trend(*, distributor, customer, as_of: date | None, months: int = 24) -> list[dict]:
    """Revenue and gross margin per calendar month for the `months` months up to `as_of` (missing
    months are zero), from the precomputed CustomerMonth table. One query."""
    as_of = as_of or date.today()
    start = _months_back(as_of, months - 1)
    rows = CustomerMonth.objects.filter(
        distributor=distributor, customer=customer, month__gte=start, month__lte=as_of
    ).values_list("month", "revenue", "cost")
    by_month = {m.replace(day=1): (float(r), float(r - c)) for m, r, c in rows}
    out = []
    for i in range(months):
        month = _months_back(as_of, months - 1 - i)
        revenue, gm = by_month.get(month, (0.0, 0.0))
        out.append(
            {
                "month": month.strftime("%Y-%m"),
                "revenue": round(revenue, 2),
                "gross_margin": round(gm, 2),
                "gm_pct": round(gm / revenue * 100, 1) if revenue > 0 else None,
            }
        )
    return out


def _window(run) -> tuple[date, date]:
    as_of = run.as_of or date.today()
    window_days = int((run.settings or {}).get("window_days", 365))
    return as_of - timedelta(days=window_days - 1), as_of


def category_mix(*, distributor, run, customer) -> list[dict]:
    """This customer's revenue share per product category over the run's window, against the pooled
    mix of the run's core customers (total core revenue per category / total core revenue; cached
    per run). Sorted by the gap, biggest shortfall first: those are the cross-sell openings."""
    start, end = _window(run)
    line_filter = {"distributor": distributor, "invoice_date__gte": start, "invoice_date__lte": end}

    def core_mix():
        core_ids = CustomerScore.objects.filter(distributor=distributor, run=run, segment="core").values("customer_id")
        rows = (
            InvoiceLine.objects.filter(**line_filter, customer_id__in=core_ids)
            .values("product__category")
            .annotate(revenue=Sum("revenue"))
            .order_by()
        )
        return {(r["product__category"] or "Uncategorised"): float(r["revenue"] or 0) for r in rows}

    core = _cached(distributor, run, "core_mix", core_mix)
    mine_rows = (
        InvoiceLine.objects.filter(**line_filter, customer=customer)
        .values("product__category")
        .annotate(revenue=Sum("revenue"))
        .order_by()
    )
    mine = {(r["product__category"] or "Uncategorised"): float(r["revenue"] or 0) for r in mine_rows}
    core_total = sum(v for v in core.values() if v > 0) or 0.0
    mine_total = sum(v for v in mine.values() if v > 0) or 0.0
    out = []
    for category in sorted(set(core) | set(mine)):
        my_share = max(mine.get(category, 0.0), 0.0) / mine_total if mine_total else 0.0
        core_share = max(core.get(category, 0.0), 0.0) / core_total if core_total else 0.0
        out.append(
            {
                "category": category,
                "revenue": mine.get(category, 0.0),
                "share": round(my_share * 100, 1),
                "core_share": round(core_share * 100, 1),
                "gap": round((my_share - core_share) * 100, 1),
            }
        )
    out.sort(key=lambda r: r["gap"])
    return out


def twelve_month_figures(*, distributor, customer, as_of: date | None) -> dict:
    """What a customer sees on the scorecard, over the 365 days up to `as_of`: purchases (net of
    returns), orders (distinct invoices among non-return lines), product categories bought and
    average days to pay. One aggregate query on the (tenant, customer, date) index."""
    as_of = as_of or date.today()
    lines = InvoiceLine.objects.filter(
        distributor=distributor,
        customer=customer,
        invoice_date__gt=as_of - timedelta(days=365),
        invoice_date__lte=as_of,
    )
    not_return = Q(quantity__gte=0, revenue__gte=0)
    agg = lines.aggregate(
        purchases=Sum("revenue"),
        orders=Count("invoice_id", filter=not_return, distinct=True),
        categories=Count("product__category", filter=not_return & ~Q(product__category=""), distinct=True),
        days_to_pay=Avg("days_to_pay"),
    )
    return {
        "purchases": float(agg["purchases"] or 0),
        "orders": int(agg["orders"] or 0),
        "categories": int(agg["categories"] or 0),
        "days_to_pay": round(float(agg["days_to_pay"]), 1) if agg["days_to_pay"] is not None else None,
    }


def progress_rows(figures: dict, target_policy) -> list[dict]:
    """The scorecard's progress bars: each of the next tier's targets against the customer's figure.
    Days to pay is better when lower, so its progress is target / actual."""
    if target_policy is None:
        return []
    spec = [
        ("purchases", "Purchases in the last 12 months", target_policy.target_revenue_12m, True, True),
        ("orders", "Orders in the last 12 months", target_policy.target_orders_12m, True, False),
        ("categories", "Product categories bought", target_policy.target_categories, True, False),
        ("days_to_pay", "Average days to pay", target_policy.target_days_to_pay, False, False),
    ]
    rows = []
    for key, label, target, more_is_better, money in spec:
        if target is None:
            continue
        actual = figures.get(key)
        target = float(target)
        if more_is_better:
            pct = 100.0 if target <= 0 else min(100.0, (actual or 0) / target * 100)
            met = (actual or 0) >= target
        else:
            if actual is None:
                pct, met = 0.0, False
            else:
                pct = 100.0 if actual <= target else max(0.0, min(100.0, target / actual * 100))
                met = actual <= target
        rows.append(
            {
                "key": key,
                "label": label,
                "actual": actual,
                "target": target,
                "pct": round(pct),
                "met": met,
                "money": money,
                "lower_is_better": not more_is_better,
            }
        )
    return rows


# --- Plain-language explanation -------------------------------------------------------------------

# (when the factor helps, when it hurts); {p}: the share of ranked customers this one beats.
FACTOR_TEXT: dict[str, tuple[str, str]] = {
    "revenue": ("buys more than {p} of customers", "buys less than {q} of customers"),
    "growth": ("purchases grew faster than {p} of customers'", "purchases grew slower than {q} of customers'"),
    "orders": ("orders more often than {p} of customers", "orders less often than {q} of customers"),
    "products": (
        "buys a wider range of products than {p} of customers",
        "buys a narrower range of products than {q} of customers",
    ),
    "categories": (
        "buys across more categories than {p} of customers",
        "buys across fewer categories than {q} of customers",
    ),
    "active_months": (
        "buys in more months of the year than {p} of customers",
        "buys in fewer months of the year than {q} of customers",
    ),
    "tenure_days": ("has been a customer longer than {p} of customers", "is a newer customer than {q} of customers"),
    "recency_days": ("ordered more recently than {p} of customers", "has not ordered as recently as {q} of customers"),
    "gross_margin": ("earns more gross margin than {p} of customers", "earns less gross margin than {q} of customers"),
    "gm_pct": ("has a better margin % than {p} of customers", "has a lower margin % than {q} of customers"),
    "cost_to_serve": ("costs less to serve than {p} of customers", "costs more to serve than {q} of customers"),
    "net_profit": (
        "makes more profit after cost to serve than {p} of customers",
        "makes less profit after cost to serve than {q} of customers",
    ),
    "net_margin_pct": (
        "keeps more of each sale as profit than {p} of customers",
        "keeps less of each sale as profit than {q} of customers",
    ),
    "share_of_wallet": (
        "gives us a bigger share of its spend than {p} of customers",
        "gives us a smaller share of its spend than {q} of customers",
    ),
}
FACTOR_LABELS: dict[str, str] = {
    "revenue": "Revenue",
    "growth": "Growth",
    "orders": "Orders",
    "products": "Products",
    "categories": "Categories",
    "active_months": "Active months",
    "tenure_days": "Tenure (days)",
    "recency_days": "Days since last order",
    "gross_margin": "Gross margin",
    "gm_pct": "Gross margin %",
    "cost_to_serve": "Cost to serve",
    "net_profit": "Net profit",
    "net_margin_pct": "Net margin %",
    "share_of_wallet": "Share of wallet",
}
MONEY_FACTORS = frozenset({"revenue", "gross_margin", "cost_to_serve", "net_profit"})
PCT_FACTORS = frozenset({"growth", "gm_pct", "net_margin_pct", "share_of_wallet"})


def format_factor(factor: str, value) -> str:
    if value is None:
        return "n/a"
    if factor in MONEY_FACTORS:
        return f"{value:,.0f}"
    if factor in PCT_FACTORS:
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}"


def explain(explanation: dict | None) -> list[dict]:
    """The run's explanation JSON as sentences: per axis, what lifts and what holds the customer back."""
    out = []
    axes = {"value": "Value", "profit": "Profit"}
    for axis, axis_label in axes.items():
        part = (explanation or {}).get(axis) or {}
        for tone in ("positive", "negative"):
            for item in part.get(tone) or []:
                factor = item.get("factor")
                if factor not in FACTOR_TEXT:
                    continue
                p = float(item.get("percentile") or 0)
                template = FACTOR_TEXT[factor][0 if tone == "positive" else 1]
                # "More than 100% of customers" reads wrong: the best customer beats all the others.
                text = template.format(p=f"{min(p, 0.99):.0%}", q=f"{min(1 - p, 0.99):.0%}")
                out.append(
                    {
                        "axis": axis,
                        "axis_label": axis_label,
                        "tone": tone,
                        "factor": factor,
                        "label": FACTOR_LABELS[factor],
                        "text": text[0].upper() + text[1:],
                        "value": format_factor(factor, item.get("value")),
                    }
                )
    return out


# --- Scorecard ------------------------------------------------------------------------------------

COVERAGE_TEXT = {
    "dedicated_rep": "A dedicated sales representative",
    "inside_sales": "Our inside sales team",
    "web_and_counter": "Web and counter ordering",
}


def tier_benefits(policy) -> list[dict]:
    """A tier's benefits in customer words (no internal field: never the playbook or the segment)."""
    if policy is None:
        return []
    out = [{"label": "Sales coverage", "value": COVERAGE_TEXT.get(policy.sales_coverage, policy.sales_coverage)}]
    if policy.free_shipping_threshold is not None:
        threshold = float(policy.free_shipping_threshold)
        out.append(
            {
                "label": "Free shipping",
                "value": "On every order" if threshold == 0 else f"On orders over {threshold:,.0f}",
            }
        )
    if policy.discount_pct:
        out.append({"label": "Discount", "value": f"{float(policy.discount_pct):g}% off list prices"})
    out.append({"label": "Special orders", "value": "Available" if policy.special_orders_allowed else "Not included"})
    out.append({"label": "Payment terms", "value": f"{policy.payment_terms_days} days"})
    return out


def scorecard_data(*, distributor, customer) -> dict:
    """What a customer may see about their own account, JSON-safe. Nothing internal: the tier is
    named by its customer-facing name; no segment, score, rank, cost-to-serve or margin, and no
    other customer. `available` is False when the tenant has no published run or the customer is
    not in it. A fixed number of queries."""
    from .policies import next_tier, policy_for_segment, policy_list

    run, _previous = published_runs(distributor=distributor)
    score = score_for(distributor=distributor, run=run, customer=customer)
    base = {
        "available": False,
        "customer": {"account": customer.customer_id, "name": customer.name or customer.customer_id},
        "currency": distributor.currency,
    }
    if score is None:
        return base
    policies = policy_list(distributor=distributor)
    policy = policy_for_segment(policies, score.segment)
    target = next_tier(policies, policy, segment=score.segment)
    figures = twelve_month_figures(distributor=distributor, customer=customer, as_of=run.as_of)
    # The top tier keeps its own targets as the bar to stay in it.
    at_top = target is None and score.segment != "lapsed"
    goal = target if target is not None else policy
    trend = monthly_trend(distributor=distributor, customer=customer, as_of=run.as_of, months=24)
    return {
        **base,
        "available": True,
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "tier": {
            "name": policy.tier_name,
            "description": policy.description,
            "benefits": tier_benefits(policy),
        }
        if policy
        else None,
        "at_top_tier": at_top,
        "next_tier": {"name": target.tier_name, "benefits": tier_benefits(target)} if target else None,
        "figures": figures,
        "progress": progress_rows(figures, goal),
        "trend": [{"month": m["month"], "purchases": m["revenue"]} for m in trend],
    }
