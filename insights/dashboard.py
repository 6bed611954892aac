"""What the manager's dashboard reads from the published run: per-segment figures, the value/profit
quadrant, the whale curve and the migration matrix. Each is one GROUP BY (or pandas over one column)
cached per run (insights.caching): a page never grows with the number of customers in queries, and
after the first visit not in work either."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from segments.models import CustomerScore
from segments.vocabulary import RANKED_SEGMENTS, SEGMENT_COLORS, SEGMENT_LABELS, SEGMENT_ORDER, movement_of

from .caching import run_cached

MONEY_FIELDS: tuple[str, ...] = ("revenue", "gross_margin", "cost_to_serve", "net_profit")


def segment_summary(*, distributor, run) -> list[dict]:
    """Per segment (in SEGMENT_ORDER, best first; lapsed only when there are some): customers and
    their share of revenue, gross margin, cost-to-serve and net profit. One GROUP BY."""

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
        for segment in SEGMENT_ORDER:
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

    return run_cached(distributor, run, "summary", compute)


def quadrant_points(*, distributor, run) -> dict:
    """Every ranked customer as [value_score, profit_score, account, name], grouped by segment in
    SEGMENT_ORDER (Chart.js datasets: the legend lists them like every page), and the thresholds
    (see `_threshold_lines`). One query; rounded to keep the payload small."""

    def compute():
        rows = (
            CustomerScore.objects.filter(distributor=distributor, run=run, value_score__isnull=False)
            .values_list("segment", "value_score", "profit_score", "customer__customer_id", "customer__name")
            .order_by()
        )
        data: dict[str, list] = {s: [] for s in SEGMENT_ORDER if s in RANKED_SEGMENTS}
        for segment, v, p, account, name in rows.iterator(chunk_size=5000):
            data.setdefault(segment, []).append([round(v, 4), round(p or 0, 4), account, name or account])
        return {
            "datasets": [
                {"segment": s, "label": SEGMENT_LABELS[s], "color": SEGMENT_COLORS[s], "points": pts}
                for s, pts in data.items()
            ],
            "thresholds": {**thresholds(run), **_threshold_lines(data)},
        }

    return run_cached(distributor, run, "quadrant", compute)


def quadrant_json(*, distributor, run) -> bytes:
    """`quadrant_points` encoded once per run: at 50,000 customers the payload is ~2 MB, and caching
    the bytes (not the dict) saves re-encoding it on every dashboard visit."""
    return run_cached(
        distributor,
        run,
        "quadrant_json",
        lambda: json.dumps(quadrant_points(distributor=distributor, run=run)).encode(),
    )


def thresholds(run) -> dict:
    """The run's thresholds: the top shares by value and by profit score (0.30 = the top 30%)."""
    settings = run.settings or {}
    return {
        "value_top_share": float(settings.get("value_top_share", 0.30)),
        "profit_top_share": float(settings.get("profit_top_share", 0.30)),
    }


def _boundary(high: list[float], low: list[float]) -> float | None:
    """The score between the lowest of the high group and the highest of the rest (their midpoint
    when they do not overlap)."""
    if not high:
        return None
    lo, hi = min(high), (max(low) if low else None)
    return round((lo + hi) / 2, 4) if hi is not None and hi < lo else round(lo, 4)


def _threshold_lines(data: dict[str, list]) -> dict:
    """Where the quadrant's thresholds fall on its axes, from the run's own segments: high value is
    core and service drain (the top `value_top_share` by value score), high profit is core and
    opportunistic (the top `profit_top_share` by profit score, with net profit above zero)."""
    values = {s: [p[0] for p in pts] for s, pts in data.items()}
    profits = {s: [p[1] for p in pts] for s, pts in data.items()}
    return {
        "value_line": _boundary(
            values.get("core", []) + values.get("service_drain", []),
            values.get("opportunistic", []) + values.get("marginal", []),
        ),
        "profit_line": _boundary(
            profits.get("core", []) + profits.get("opportunistic", []),
            profits.get("service_drain", []) + profits.get("marginal", []),
        ),
    }


def whale_points(values: np.ndarray, max_points: int = 300, total: float | None = None) -> dict:
    """The whale curve of customers' net profits `values`: cumulative net profit against customers
    ranked best first, as shares of the final total (`total` when the caller summed it exactly), the
    peak kept exactly, downsampled to `max_points` for the chart."""
    n = len(values)
    if n == 0:
        return {"n": 0, "points": [], "peak": None, "total": 0.0}
    cumulative = pd.Series(np.sort(values)[::-1]).cumsum().to_numpy()
    total = float(cumulative[-1]) if total is None else total
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
        return whale_points(values, max_points)

    return run_cached(distributor, run, "whale", compute)


def migration_table(counts: dict[tuple[str, str], int]) -> dict:
    """The migration matrix of (previous segment or "new", segment) -> customers: rows by previous
    segment, cells with their movement, and how many moved."""
    to_segments = [s for s in SEGMENT_ORDER if s != "lapsed" or any(k[1] == "lapsed" for k in counts)]
    from_segments = [s for s in SEGMENT_ORDER if any(k[0] == s for k in counts)]
    if any(k[0] == "new" for k in counts):
        from_segments.append("new")
    rows = [
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
    return {
        "to": [{"segment": t, "label": SEGMENT_LABELS[t]} for t in to_segments],
        "rows": rows,
        "moved": sum(n for (f, t), n in counts.items() if f != "new" and f != t),
        "has_previous": any(f != "new" for f, _ in counts),
    }


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
        return migration_table(counts)

    return run_cached(distributor, run, "migration", compute)
