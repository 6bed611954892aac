"""Trends across published runs (issue 16, item 5) and the figures of a slice (item 6), both from the
per-run, per-customer table (`insights.benchframe`): nothing re-runs the model.

Per published run (oldest first, the latest `MAX_RUNS`): customers per segment and their shares of
revenue and net profit (a share of a total that can be negative is taken against its absolute size,
as on the dashboard), the whale curve's peak (the most cumulative net profit, customers ranked by net
profit, best first), core retention (of the previous listed run's core customers, the share still
core in this run) and the settings that changed since the previous listed run. The migration matrix
compares any two runs customer by customer: rows are the segment in the earlier run (or "not in the
run"), columns the segment in the later one.

A slice keeps the customers whose *current* attribute has the value; segments and ranks stay the
tenant's."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from segments.models import StratificationRun
from segments.vocabulary import RANKED_SEGMENTS, SEGMENT_LABELS, SEGMENT_ORDER, settings_diff

from .benchframe import MONEY, Slice, customer_frame, dsum, score_frame, slice_cached
from .caching import run_cached
from .dashboard import migration_table, whale_points

MAX_RUNS = 24
SHOWN = tuple(s for s in SEGMENT_ORDER if s in RANKED_SEGMENTS)  # the page's order, best first
NOT_IN_RUN = "absent"


def published_run_list(distributor, limit: int = MAX_RUNS) -> list:
    """The tenant's published runs in the order of their data, oldest first (the latest `limit`):
    by as-of date, then (runs of the same date) by publication. A run published after another but
    dated before it (a manager re-running an older date) takes its place in time, so the trends, the
    retention (against the run before it in time) and the default migration never run backwards."""
    runs = list(
        StratificationRun.objects.filter(
            distributor=distributor, published_at__isnull=False, status=StratificationRun.Status.SUCCEEDED
        ).order_by("-as_of", "-published_at", "-id")[:limit]
    )
    return runs[::-1]


def sliced_frame(distributor, run, customers: pd.DataFrame, cut: Slice) -> pd.DataFrame:
    """`run`'s scores with the customers' current attributes, kept to the slice."""
    frame = score_frame(distributor, run).merge(customers, on="customer", how="left")
    return cut.apply(frame)


# --- figures of one frame (a run, possibly sliced) ---------------------------------------------------


def summary(frame: pd.DataFrame) -> dict:
    """Per segment (SEGMENT_ORDER; lapsed only when there are some): count and money, with shares;
    the structure of `insights.dashboard.segment_summary`."""
    totals_exact = {m: dsum(frame[m]) for m in MONEY}
    totals = {m: float(v) for m, v in totals_exact.items()}
    totals["count"] = len(frame)
    rows = []
    for segment in SEGMENT_ORDER:
        part = frame[frame["segment"] == segment]
        if segment == "lapsed" and not len(part):
            continue
        entry = {"segment": segment, "label": SEGMENT_LABELS[segment], "count": len(part)}
        entry["count_share"] = len(part) / totals["count"] if totals["count"] else 0.0
        for m in MONEY:
            value = dsum(part[m])
            entry[m] = float(value)
            entry[f"{m}_share"] = float(value / abs(totals_exact[m])) if totals_exact[m] else 0.0
            entry[f"{m}_pct"] = round(entry[f"{m}_share"] * 100, 1)
            entry[f"{m}_bar"] = max(0.0, min(100.0, entry[f"{m}_pct"]))
        entry["count_pct"] = round(entry["count_share"] * 100, 1)
        rows.append(entry)
    return {"rows": rows, "totals": totals}


def whale(frame: pd.DataFrame, max_points: int = 300) -> dict:
    """The whale curve of the frame's ranked customers (`insights.dashboard.whale_curve`'s structure)."""
    ranked = frame[frame["segment"] != "lapsed"]
    values = np.array([float(v) for v in ranked["net_profit"]], dtype=float)
    return whale_points(values, max_points, total=float(dsum(ranked["net_profit"])))


def migration_in_run(frame: pd.DataFrame) -> dict:
    """The run's own migration (previous segment -> segment), `insights.dashboard.migration_matrix`'s
    structure."""
    counts = frame.assign(previous=frame["previous_segment"].replace("", "new")).groupby(["previous", "segment"]).size()
    counts = {k: int(v) for k, v in counts.items()}
    return migration_table(counts)


def core_retention(before: pd.DataFrame, after: pd.DataFrame) -> float | None:
    """Of `before`'s core customers, the share that is core in `after` (None without core before)."""
    core_before = set(before.loc[before["segment"] == "core", "customer"])
    if not core_before:
        return None
    core_after = set(after.loc[after["segment"] == "core", "customer"])
    return len(core_before & core_after) / len(core_before)


def migration_between(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """Customers by (segment in `before`, segment in `after`); "absent" for a run a customer is not in."""
    merged = before[["customer", "segment"]].merge(
        after[["customer", "segment"]], on="customer", how="outer", suffixes=("_from", "_to")
    )
    merged = merged.fillna({"segment_from": NOT_IN_RUN, "segment_to": NOT_IN_RUN})
    counts = {k: int(v) for k, v in merged.groupby(["segment_from", "segment_to"]).size().items()}
    order = [*SEGMENT_ORDER, NOT_IN_RUN]
    present_from = [s for s in order if any(k[0] == s for k in counts)]
    present_to = [s for s in order if any(k[1] == s for k in counts)]
    label = lambda s: SEGMENT_LABELS.get(s, "Not in the run")  # noqa: E731
    return {
        "to": [{"segment": s, "label": label(s)} for s in present_to],
        "rows": [
            {
                "from": f,
                "label": label(f),
                "cells": [{"to": t, "n": counts.get((f, t), 0)} for t in present_to],
            }
            for f in present_from
        ],
        "counts": counts,
    }


# --- the History page -------------------------------------------------------------------------------


def history(*, distributor, runs: list, stamp: str, cut: Slice) -> dict:
    """The per-run figures of `runs` (oldest first) for the slice, and the series of the charts.
    Cached per latest run, runs listed, assignment stamp and slice."""
    if not runs:
        return {"runs": [], "series": {}}
    latest = runs[-1]
    ids = hashlib.sha256(",".join(str(r.pk) for r in runs).encode()).hexdigest()[:16]
    key = f"history:{ids}:{stamp}:{cut.by}={cut.value}"

    def compute():
        customers = customer_frame(distributor, latest, stamp)
        out, previous_frame, previous_run = [], None, None
        for run in runs:
            frame = sliced_frame(distributor, run, customers, cut)
            figures = summary(frame)
            ranked = frame[frame["segment"].isin(RANKED_SEGMENTS)]
            curve = whale(frame)
            entry = {
                "number": run.number,
                "as_of": run.as_of,
                "published_at": run.published_at,
                "customers": len(ranked),
                "segments": {
                    r["segment"]: {
                        "count": r["count"],
                        "revenue_share": r["revenue_share"],
                        "net_profit_share": r["net_profit_share"],
                        "revenue": r["revenue"],
                        "net_profit": r["net_profit"],
                    }
                    for r in figures["rows"]
                },
                "revenue": dsum(ranked["revenue"]),
                "net_profit": dsum(ranked["net_profit"]),
                "whale_peak": curve["peak"]["value"] if curve["peak"] else None,
                "whale_peak_pct": curve["peak"]["pct_of_total"] if curve["peak"] else None,
                "core_retention": core_retention(previous_frame, frame) if previous_frame is not None else None,
                "settings_changes": settings_diff(previous_run.settings, run.settings) if previous_run else [],
            }
            out.append(entry)
            previous_frame, previous_run = frame, run
        labels = [f"#{e['number']} {e['as_of']}" for e in out]
        series = {
            "labels": labels,
            "counts": {s: [e["segments"].get(s, {}).get("count", 0) for e in out] for s in SHOWN},
            "net_profit_share": {
                s: [round(e["segments"].get(s, {}).get("net_profit_share", 0.0) * 100, 2) for e in out] for s in SHOWN
            },
            "revenue_share": {
                s: [round(e["segments"].get(s, {}).get("revenue_share", 0.0) * 100, 2) for e in out] for s in SHOWN
            },
            "core_retention": [
                None if e["core_retention"] is None else round(e["core_retention"] * 100, 2) for e in out
            ],
            "whale_peak": [e["whale_peak"] for e in out],
            "labels_segments": {s: SEGMENT_LABELS[s] for s in SHOWN},
        }
        return {"runs": out, "series": series}

    return run_cached(distributor, latest, key, compute)


def migration_between_runs(*, distributor, before, after, stamp: str, cut: Slice) -> dict:
    """`migration_between` two runs for the slice; cached per pair, stamp and slice."""

    def compute():
        customers = customer_frame(distributor, after, stamp)
        return migration_between(
            sliced_frame(distributor, before, customers, cut), sliced_frame(distributor, after, customers, cut)
        )

    return slice_cached(distributor, after, stamp, cut, f"migration_between:{before.pk}", compute)
