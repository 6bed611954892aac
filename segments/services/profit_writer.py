"""Writing a run's profit centers (docs PROFIT_CENTERS.md): one `ProfitCenter` row per value of every
dimension, per dimension x segment cell and per cell of the two-dimension matrices, from the exact
tables of `segments.profit_centers.compute`, in the run's write transaction."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from stratify.cache import tenant_cache_bump
from stratify.db import insert_rows

from ..models import ProfitCenter, ProfitCurve
from ..profit_centers import Figures, ProfitTable, ordered, stored_figures, whale_curve

BATCH = 5_000


def _row(run, dimension: str, by: str, value: str, by_value: str, position: int, f: Figures, total: int) -> dict:
    """A `ProfitCenter` row as a dict of its fields (see `stratify.db.insert_rows`)."""
    return {
        "distributor_id": run.distributor_id,
        "run_id": run.pk,
        "dimension": dimension,
        "by": by,
        "value": value,
        "by_value": by_value,
        "position": position,
        **stored_figures(f, total, by_segment=not by),
    }


def profit_curves(run, tables: dict[tuple[str, str], ProfitTable]) -> list[ProfitCurve]:
    """Each dimension's whale curve for `run` (not saved)."""
    curves = []
    for (dimension, by), table in tables.items():
        if by != "segment":
            continue
        values = ordered(table.values)
        unit = values[0][1].unit if values else 1
        curve = whale_curve([f.net_profit_n for _v, f in values], unit, [v for v, _f in values])
        curves.append(ProfitCurve(distributor_id=run.distributor_id, run_id=run.pk, dimension=dimension, **curve))
    return curves


def profit_rows(run, tables: dict[tuple[str, str], ProfitTable]) -> list[dict]:
    """The `ProfitCenter` rows to store for `run` (not saved), as dicts of their fields."""
    total = sum(f.net_profit_n for f in tables[("segment", "segment")].values.values())
    rows: list[dict] = []
    for (dimension, by), table in tables.items():
        if by == "segment":
            order = {value: i for i, (value, _f) in enumerate(ordered(table.values), start=1)}
            rows += [_row(run, dimension, "", v, "", order[v], f, total) for v, f in table.values.items()]
        cells = sorted(table.cells.items(), key=lambda item: (-item[1].net_profit_n, item[0]))
        rows += [_row(run, dimension, by, v, o, i, f, total) for i, ((v, o), f) in enumerate(cells, start=1)]
    return rows


def write_profit_centers(run, rows: list[dict], curves: list[ProfitCurve]) -> None:
    """Replace the run's rows and curves (an attempt the sweep requeued may have written some) in bulk."""
    ProfitCenter.objects.filter(distributor_id=run.distributor_id, run_id=run.pk).delete()
    ProfitCurve.objects.filter(distributor_id=run.distributor_id, run_id=run.pk).delete()
    insert_rows(ProfitCenter, rows, batch_size=BATCH)
    ProfitCurve.objects.bulk_create(curves)
    # Pages cached before the rows existed are stale in every process once this commits.
    transaction.on_commit(partial(tenant_cache_bump, run.distributor_id))
