"""Segments and categories benchmarked against each other (issue 16, item 4), core first. Reuses the
profit centers the run stored (`segments.models.ProfitCenter`, docs PROFIT_CENTERS.md): nothing is
recomputed here.

* Segments: the figures of PROFIT_CENTERS.md section 3 (customers, lines, revenue, gross margin,
  cost-to-serve, net profit, net margin %, share of net profit) per segment, a column each, core
  first (then SEGMENT_ORDER).
* Categories: per category, the same figures of its lines bought by each segment's customers (the
  category x segment cells), core first, and the category's total; sorted by the category's net
  profit, highest first (the profit centers' order)."""

from __future__ import annotations

from segments.selectors import profit_center_list
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER

SEGMENTS = tuple(s for s in SEGMENT_ORDER if s != "lapsed")  # core first
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("customers", "Customers", "count"),
    ("lines", "Lines", "count"),
    ("revenue", "Revenue", "money"),
    ("gross_margin", "Gross margin", "money"),
    ("cost_to_serve", "Cost to serve", "money"),
    ("net_profit", "Net profit", "money"),
    ("net_margin_pct", "Net margin %", "ratio"),
    ("net_profit_share", "Share of net profit", "ratio"),
)
CATEGORY_FIGURES = ("revenue", "net_profit", "net_margin_pct")


def _figures(row) -> dict:
    return {key: getattr(row, key) for key, _label, _kind in FIGURES} if row is not None else None


def segments(*, distributor, run) -> dict:
    """{"columns": [(segment, label)], "rows": [{"key", "label", "kind", "cells": [value per segment]}]}."""
    by = {r.value: r for r in profit_center_list(distributor=distributor, run=run, dimension="segment")}
    columns = [(s, SEGMENT_LABELS[s]) for s in SEGMENTS]
    rows = [
        {
            "key": key,
            "label": label,
            "kind": kind,
            "cells": [getattr(by[s], key) if s in by else None for s in SEGMENTS],
        }
        for key, label, kind in FIGURES
    ]
    return {"columns": columns, "rows": rows, "available": bool(by)}


def categories(*, distributor, run) -> list[dict]:
    """One row per category: its total figures and each segment's (None where no customer of the
    segment bought it), core first."""
    totals = list(profit_center_list(distributor=distributor, run=run, dimension="category"))
    cells = {
        (c.value, c.by_value): c
        for c in profit_center_list(distributor=distributor, run=run, dimension="category", by="segment")
    }
    out = []
    for row in totals:
        entry = {"value": row.value, "total": _figures(row)}
        for s in SEGMENTS:
            entry[s] = _figures(cells.get((row.value, s)))
        for s in SEGMENTS:
            for key in CATEGORY_FIGURES:
                entry[f"{s}__{key}"] = entry[s][key] if entry[s] else None
        for key in CATEGORY_FIGURES:
            entry[f"total__{key}"] = row.__dict__[key]
        out.append(entry)
    return out
