"""Rep coaching (issue 16, item 1): one row per rep with their book in the published run, each figure
against the team median, and the figures furthest from it turned into coaching points in words.

Whose customers: the customers assigned to the rep today (`Customer.rep`), as scored in the run.
`customers` counts those *ranked* in the run (lapsed ones left out, as the API's contract says);
money figures are the window sums of those ranked customers. Migration (since the previous
published run) reads the run's `previous_segment` of every assigned customer, lapsed included.
The team median is taken over reps with at least one ranked customer (a rep with none gets an
empty row and is not part of the median). The core benchmark of category coverage is the median
number of categories bought by the run's core customers (the whole tenant's)."""

from __future__ import annotations

import hashlib
import math
import statistics
from decimal import Decimal

import pandas as pd

from alerts.selectors import open_by_rep
from sales.selectors import rep_list
from segments.vocabulary import RANKED_SEGMENTS, SEGMENT_RANK
from stratify.formatting import format_money, format_percent
from stratify.tenancy.lookups import ObjectLookup
from stratify.tenancy.permissions import Role

from .benchframe import ZERO, assignment_stamp, ratio, run_frame
from .caching import run_cached

THOUSAND = Decimal(1000)
# Figures compared to the median: key -> (label, better when "high"/"low", kind).
FIGURES: dict[str, tuple[str, str, str]] = {
    "customers": ("Customers", "high", "count"),
    "core_customers": ("Core customers", "high", "count"),
    "core_share_customers": ("Core share of customers", "high", "ratio"),
    "core_share_revenue": ("Core share of revenue", "high", "ratio"),
    "revenue": ("Revenue", "high", "money"),
    "net_profit": ("Net profit", "high", "money"),
    "net_margin_pct": ("Net margin", "high", "ratio"),
    "cost_to_serve_per_1000": ("Cost-to-serve per 1,000 of revenue", "low", "money"),
    "moved_up": ("Moved up", "high", "count"),
    "moved_down": ("Moved down", "low", "count"),
    "into_core": ("Into core", "high", "count"),
    "out_of_core": ("Out of core", "low", "count"),
    "core_below_benchmark_share": ("Core customers below the category benchmark", "low", "ratio"),
}
COACHED = (
    "core_share_customers",
    "core_share_revenue",
    "net_margin_pct",
    "cost_to_serve_per_1000",
    "moved_down",
    "out_of_core",
    "core_below_benchmark_share",
)
POINTS = 3  # coaching points per rep at most
MIN_GAP = 0.10  # a figure at least 10% worse than the median (relative) is worth a point


def core_benchmark(frame) -> float | None:
    """The median number of categories the run's core customers buy (None without core customers)."""
    core = frame[frame["segment"] == "core"]["categories"].dropna()
    return float(core.median()) if len(core) else None


def _empty_row(rep_pk, rep_code, name) -> dict:
    row = {"rep": rep_pk, "rep_id": rep_code, "name": name}
    row.update(
        customers=0,
        core_customers=0,
        segments={s: {"customers": 0, "net_profit": ZERO} for s in RANKED_SEGMENTS},
        revenue=ZERO,
        gross_margin=ZERO,
        cost_to_serve=ZERO,
        net_profit=ZERO,
        core_share_customers=None,
        core_share_revenue=None,
        net_margin_pct=None,
        cost_to_serve_per_1000=None,
        moved_up=0,
        moved_down=0,
        into_core=0,
        out_of_core=0,
        net_profit_into_core=ZERO,
        net_profit_out_of_core=ZERO,
        core_below_benchmark=0,
        core_below_benchmark_share=None,
        alerts=None,
        points=[],
    )
    return row


def team_figures(frame, reps, benchmark) -> list[dict]:
    """Every rep's row (`reps`: (pk, code, name)) from the run's frame, in whole columns: one pass of
    masks, then one GROUP BY rep (counts summed, money summed exactly with `math.fsum`)."""
    f = frame[frame["rep"].notna()].copy()
    f["rep"] = f["rep"].astype("int64")
    ranked = f["segment"].isin(RANKED_SEGMENTS)
    seg_rank = f["segment"].map(SEGMENT_RANK)
    prev_rank = f["previous_segment"].map(SEGMENT_RANK)
    has_prev = f["previous_segment"] != ""
    core = f["segment"] == "core"
    into = core & (f["previous_segment"] != "core")
    out = (f["previous_segment"] == "core") & ~core
    counts = {
        "customers": ranked,
        "core_customers": core,
        "moved_up": has_prev & (seg_rank < prev_rank),
        "moved_down": has_prev & (seg_rank > prev_rank),
        "into_core": into,
        "out_of_core": out,
        "core_below_benchmark": core & (f["categories"].fillna(0) < benchmark)
        if benchmark is not None
        else core & False,
        **{f"n_{s}": f["segment"] == s for s in RANKED_SEGMENTS},
    }
    money = {
        **{m: f[m].where(ranked, 0.0) for m in ("revenue", "gross_margin", "cost_to_serve", "net_profit")},
        "core_revenue": f["revenue"].where(core, 0.0),
        "net_profit_into_core": f["net_profit"].where(into, 0.0),
        "net_profit_out_of_core": f["net_profit"].where(out, 0.0),
        **{f"np_{s}": f["net_profit"].where(f["segment"] == s, 0.0) for s in RANKED_SEGMENTS},
    }
    columns = pd.DataFrame({"rep": f["rep"], **{k: v.astype("int64") for k, v in counts.items()}, **money})
    grouped = columns.groupby("rep")
    count_sums = grouped[list(counts)].sum().to_dict("index")
    money_sums = grouped[list(money)].agg(math.fsum).to_dict("index")
    rows = []
    for pk, code, name in reps:
        row = _empty_row(pk, code, name)
        c, m = count_sums.get(pk), money_sums.get(pk)
        if c is not None:
            exact = {k: Decimal(repr(v)) for k, v in m.items()}
            for key in ("customers", "core_customers", "moved_up", "moved_down", "into_core", "out_of_core"):
                row[key] = int(c[key])
            for key in ("revenue", "gross_margin", "cost_to_serve", "net_profit"):
                row[key] = exact[key]
            row["net_profit_into_core"] = exact["net_profit_into_core"]
            row["net_profit_out_of_core"] = exact["net_profit_out_of_core"]
            row["segments"] = {
                s: {"customers": int(c[f"n_{s}"]), "net_profit": exact[f"np_{s}"]} for s in RANKED_SEGMENTS
            }
            row["core_share_customers"] = row["core_customers"] / row["customers"] if row["customers"] else None
            row["core_share_revenue"] = ratio(exact["core_revenue"], row["revenue"])
            row["net_margin_pct"] = ratio(row["net_profit"], row["revenue"])
            row["cost_to_serve_per_1000"] = (
                row["cost_to_serve"] * THOUSAND / row["revenue"] if row["revenue"] > 0 else None
            )
            if benchmark is not None and row["core_customers"]:
                row["core_below_benchmark"] = int(c["core_below_benchmark"])
                row["core_below_benchmark_share"] = row["core_below_benchmark"] / row["core_customers"]
        rows.append(row)
    return rows


def _median(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    if isinstance(values[0], Decimal):
        return statistics.median(values)
    return float(statistics.median(values))


def median_row(rows: list[dict]) -> dict:
    """The team median of every figure, over reps with at least one ranked customer."""
    active = [r for r in rows if r["customers"]]
    row = _empty_row(None, None, "Team median")
    for key in (*FIGURES, "gross_margin", "cost_to_serve", "net_profit_into_core", "net_profit_out_of_core"):
        row[key] = _median([r[key] for r in active])
    for s in RANKED_SEGMENTS:
        row["segments"][s] = {
            "customers": _median([r["segments"][s]["customers"] for r in active]),
            "net_profit": _median([r["segments"][s]["net_profit"] for r in active]),
        }
    row["core_below_benchmark"] = _median([r["core_below_benchmark"] for r in active])
    row["reps"] = len(active)
    return row


def _show(kind, value, distributor) -> str:
    if value is None:
        return "—"
    if kind == "ratio":
        return format_percent(value, distributor, decimals=0)
    if kind == "money":
        return format_money(value, distributor)
    return f"{value:g}" if isinstance(value, float) else str(value)


def coaching_points(row: dict, median: dict, distributor, limit: int = POINTS) -> list[str]:
    """The `limit` figures furthest from the median on the wrong side (at least 10% off), in words."""
    if not row["customers"]:
        return []
    gaps = []
    for key in COACHED:
        mine, mid = row[key], median[key]
        if mine is None or mid is None:
            continue
        _label, better, _kind = FIGURES[key]
        worse = float(mid) - float(mine) if better == "high" else float(mine) - float(mid)
        scale = abs(float(mid)) or 1.0
        if worse / scale >= MIN_GAP and worse > 0:
            gaps.append((worse / scale, key))
    gaps.sort(reverse=True)
    points = []
    for _gap, key in gaps[:limit]:
        label, _better, kind = FIGURES[key]
        mine, mid = _show(kind, row[key], distributor), _show(kind, median[key], distributor)
        if key == "core_below_benchmark_share":
            points.append(
                f"{row['core_below_benchmark']} of {row['core_customers']} core customers buy fewer categories "
                f"than the core benchmark (team median {mid}): cross-sell review."
            )
        elif key in ("core_share_customers", "core_share_revenue"):
            points.append(f"{label} is {mine} against a team median of {mid}: work the next-best accounts up to core.")
        elif key == "net_margin_pct":
            points.append(f"Net margin is {mine} against a team median of {mid}: review pricing and discounts.")
        elif key == "cost_to_serve_per_1000":
            points.append(
                f"Cost-to-serve is {mine} per 1,000 of revenue against a team median of {mid}: "
                "consolidate orders and deliveries."
            )
        elif key == "moved_down":
            noun = "customer" if row[key] == 1 else "customers"
            points.append(f"{mine} {noun} moved down since the last run (team median {mid}): call them first.")
        else:
            noun = "customer" if row[key] == 1 else "customers"
            points.append(f"{mine} {noun} left core since the last run (team median {mid}): win them back.")
    return points


def rep_table(*, distributor, run, reps, stamp: str | None = None) -> dict:
    """{"rows": one per rep of `reps` (queryset or list of Rep, all reps for a manager), "median":
    the team median row, "benchmark": the core category benchmark, "has_alerts": bool}. The median
    is always the whole team's, whatever `reps` is."""
    stamp = stamp or assignment_stamp(distributor)
    team = _team(distributor, run, stamp)
    wanted = {r.pk for r in reps}
    rows = [r for r in team["rows"] if r["rep"] in wanted]
    # Per rep pk, the alerts still to work on their customers: the column shows when any exist.
    alerts = open_by_rep(distributor=distributor, rep_pks=list(wanted), assignment=stamp)
    for r in rows:
        r["alerts"] = alerts.get(r["rep"])
    return {**team, "rows": rows, "has_alerts": bool(alerts)}


def _team(distributor, run, stamp: str) -> dict:
    """Every rep's row and the median, cached per run, assignment stamp and the reps' names."""
    reps = list(rep_list(distributor=distributor).order_by("rep_id").values_list("pk", "rep_id", "name"))
    key = f"coaching:{stamp}:{hashlib.sha256(repr(reps).encode()).hexdigest()}"

    def compute():
        frame = run_frame(distributor, run, stamp)
        benchmark = core_benchmark(frame)
        rows = team_figures(frame, reps, benchmark)
        median = median_row(rows)
        for row in rows:
            row["points"] = coaching_points(row, median, distributor)
        return {"rows": rows, "median": median, "benchmark": benchmark}

    return run_cached(distributor, run, key, compute)


def _visible_rep_qs(distributor, membership):
    """The reps whose rows the caller may see: every rep for a manager, a rep their own (none when
    their login is not linked to a rep)."""
    reps = rep_list(distributor=distributor).order_by("rep_id")
    if membership.role == Role.MANAGER:
        return reps
    if membership.role == Role.REP and membership.rep_id:
        return reps.filter(pk=membership.rep_id)
    return reps.none()


def visible_reps(distributor, membership) -> list:
    return list(_visible_rep_qs(distributor, membership))


def rep_get(*, distributor, membership, key: str):
    """A rep by ERP code, for the rep page: a rep may open only their own (others: not found)."""
    return _visible_rep_qs(distributor, membership).get(rep_id=key)


REP = ObjectLookup(kwarg="rep_id", attr="rep", find=rep_get, not_found="No such rep.")
