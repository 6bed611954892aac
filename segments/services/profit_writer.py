"""Writing a run's profit centers (docs PROFIT_CENTERS.md): one `ProfitCenter` row per value of every
dimension, per dimension x segment cell and per cell of the two-dimension matrices, from the exact
tables of `segments.profit_centers.compute`, in the run's write transaction."""

from __future__ import annotations

from stratify.db import insert_objects
from stratify.engine import SEGMENTS

from ..models import ProfitCenter, ProfitCurve
from ..profit_centers import MONEY, Figures, ProfitTable, cents, ordered, whale_curve

BATCH = 5_000


def _row(
    run, dimension: str, by: str, value: str, by_value: str, position: int, f: Figures, total: int
) -> ProfitCenter:
    return ProfitCenter(
        distributor_id=run.distributor_id,
        run_id=run.pk,
        dimension=dimension,
        by=by,
        value=value,
        by_value=by_value,
        position=position,
        customers=f.customers,
        lines=f.lines,
        revenue=cents(f.revenue_n, f.unit),
        gross_margin=cents(f.gross_margin_n, f.unit),
        cost_to_serve=cents(f.cost_to_serve_n, f.unit),
        net_profit=cents(f.net_profit_n, f.unit),
        net_margin_pct=f.net_margin_pct,
        net_profit_share=f.share_of(total),
        segment_net_profit=(
            {s: str(cents(f.segment_net_profit_n.get(s, 0), f.unit)) for s in SEGMENTS} if not by else {}
        ),
        exact={name: f"{getattr(f, name + '_n')}/{f.unit}" for name in MONEY},
        cost_parts={part: str(cents(n, f.unit)) for part, n in f.cost_parts_n.items() if n},
    )


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


def profit_rows(run, tables: dict[tuple[str, str], ProfitTable]) -> list[ProfitCenter]:
    """The rows to store for `run` (not saved)."""
    total = sum(f.net_profit_n for f in tables[("segment", "segment")].values.values())
    rows: list[ProfitCenter] = []
    for (dimension, by), table in tables.items():
        if by == "segment":
            order = {value: i for i, (value, _f) in enumerate(ordered(table.values), start=1)}
            rows += [_row(run, dimension, "", v, "", order[v], f, total) for v, f in table.values.items()]
        cells = sorted(table.cells.items(), key=lambda item: (-item[1].net_profit_n, item[0]))
        rows += [_row(run, dimension, by, v, o, i, f, total) for i, ((v, o), f) in enumerate(cells, start=1)]
    return rows


def write_profit_centers(run, rows: list[ProfitCenter], curves: list[ProfitCurve]) -> None:
    """Replace the run's rows and curves (an attempt the sweep requeued may have written some) in bulk."""
    ProfitCenter.objects.filter(distributor_id=run.distributor_id, run_id=run.pk).delete()
    ProfitCurve.objects.filter(distributor_id=run.distributor_id, run_id=run.pk).delete()
    insert_objects(ProfitCenter, rows, batch_size=BATCH)
    ProfitCurve.objects.bulk_create(curves)
