"""The Profit centers report (docs PROFIT_CENTERS.md), read side: the table of a dimension's values
(django-tables2 on the list-page base, with CSV/XLSX exports), its whale curve with the peak and what
the drains give away, the top centers and drains in words, and the heat maps (a dimension x segment,
branch x category). Everything is read from the rows the run stored; nothing is recomputed here."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import django_filters
import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from insights.caching import run_cached
from segments.names import matching, named, value_names
from segments.profit_centers import COST_PARTS, DIMENSIONS, PAIRS, ordered, shown, whale_curve
from segments.selectors import profit_center_list, profit_curve
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER
from stratify.exports import Money, Percent
from stratify.formatting import format_money, format_number, format_percent
from stratify.tenancy.lists import LeanTable

RIGHT = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}
MONEY_COLUMNS = ("revenue", "gross_margin", "cost_to_serve", "net_profit")
SEGMENTS_SHOWN = tuple(s for s in SEGMENT_ORDER if s in SEGMENT_LABELS and s != "lapsed")
TOP = 3  # centers and drains called out by name
CURVE_FIELDS = ("values", "centers", "drains", "peak", "peak_at", "total", "given_away", "points")
UNUSED_BY_MAPS = ("exact", "cost_parts", "segment_net_profit")  # JSON a heat map's cells need not parse


def dimension_label(dimension: str) -> str:
    return DIMENSIONS[dimension][0]


def drill_url(tenant_slug: str, dimension: str, value: str) -> str:
    """The my-customers table filtered to the customers of one value."""
    base = reverse("my-customers", kwargs={"tenant": tenant_slug})
    return f"{base}?{urlencode({'dimension': dimension, 'value': shown(value)})}"


class ProfitCenterFilter(django_filters.FilterSet):
    """Filters of the table: a text search on the value and centers or drains only."""

    q = django_filters.CharFilter(method="by_text", label="Value contains")
    kind = django_filters.ChoiceFilter(
        choices=[("centers", "Profit centers"), ("drains", "Profit drains")],
        method="by_kind",
        empty_label="Centers and drains",
        label="Show",
    )

    # Set by the view: whose names the search reads (segments.names.matching).
    distributor = None
    dimension = None

    def by_text(self, queryset, name, value):
        """The values whose code or displayed name contains the text ("Lumen" finds SUP012 · Lumen Tech)."""
        return queryset.filter(matching(distributor=self.distributor, dimension=self.dimension, text=value))

    def by_kind(self, queryset, name, value):
        return queryset.filter(net_profit__gt=0) if value == "centers" else queryset.filter(net_profit__lt=0)


class ProfitCenterTable(LeanTable):
    value = tables.Column(verbose_name="Value", order_by=("value",), empty_values=())
    customers = tables.Column(verbose_name="Customers", attrs=RIGHT)
    lines = tables.Column(verbose_name="Lines", attrs=RIGHT)
    revenue = tables.Column(verbose_name="Revenue", attrs=RIGHT)
    gross_margin = tables.Column(verbose_name="Gross margin", attrs=RIGHT)
    cost_to_serve = tables.Column(verbose_name="Cost to serve", attrs=RIGHT)
    net_profit = tables.Column(verbose_name="Net profit", attrs=RIGHT, order_by=("position",))
    net_margin_pct = tables.Column(verbose_name="Net margin %", attrs=RIGHT)
    net_profit_share = tables.Column(verbose_name="Share of net profit", attrs=RIGHT)

    always_render = frozenset({"value"})

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "profit-centers-table"}
        order_by_field = "sort"
        per_page = 25
        empty_text = "No values match."

    def __init__(self, *args, tenant_slug: str, dimension: str, names_for=None, **kwargs):
        """`names_for(codes)`: how these values read (`value_names`), called with the page's values
        only (a tenant's products are many: their names are read for the rows shown)."""
        self.tenant_slug, self.dimension, self.names, self.names_for = tenant_slug, dimension, {}, names_for
        extra = [
            (f"np_{s}", tables.Column(verbose_name=f"Net profit: {SEGMENT_LABELS[s]}", attrs=RIGHT, orderable=False))
            for s in SEGMENTS_SHOWN
            if dimension != "segment"  # a segment's split by segment is itself: one column, the rest zero
        ]
        super().__init__(*args, extra_columns=extra, **kwargs)

    def cell_value(self, record, name):
        if name.startswith("np_"):
            return Decimal(record.segment_net_profit.get(name[3:], "0"))
        return getattr(record, name)

    def before_render(self):
        if self.names_for is not None:
            self.names = self.names_for(
                [row.record.value for row in (self.page.object_list if self.page else self.rows)]
            )

    def render_value(self, value, record):
        return format_html(
            '<a href="{}">{}</a>', drill_url(self.tenant_slug, self.dimension, value), named(value, self.names)
        )

    def _money(self, value, record=None):
        css = "text-danger" if value < 0 else ""
        return format_html('<span class="{}">{}</span>', css, format_money(value, self.distributor, decimals=2))

    render_revenue = render_gross_margin = render_cost_to_serve = render_net_profit = _money

    def render_net_margin_pct(self, value, record):
        return format_percent(value, self.distributor)

    render_net_profit_share = render_net_margin_pct

    def render_customers(self, value, record):
        return format_number(value, self.distributor)  # grouped as the tenant's locale groups (1.640)

    render_lines = render_customers

    def __getattr__(self, name):
        if name.startswith("render_np_"):
            return self._money
        raise AttributeError(name)


def export_headers(currency: str) -> list[str]:
    """The columns of the page's CSV/XLSX export (money headers name the currency)."""
    money = [f"{label} ({currency})" for label in ("Revenue", "Gross margin", "Cost to serve", "Net profit")]
    segments = [f"Net profit: {SEGMENT_LABELS[s]} ({currency})" for s in SEGMENTS_SHOWN]
    return ["Value", "Customers", "Lines", *money, "Net margin %", "Share of net profit %", *segments]


def export_row(row, names: dict[str, str]) -> list:
    """One value as the page's export writes it (`names`: `value_names`): money to the cent, ratios
    as percentages."""
    return [
        named(row.value, names),
        row.customers,
        row.lines,
        *(Money(getattr(row, name)) for name in MONEY_COLUMNS),
        None if row.net_margin_pct is None else Percent(row.net_margin_pct),
        None if row.net_profit_share is None else Percent(row.net_profit_share),
        *(Money(Decimal(row.segment_net_profit.get(s, "0"))) for s in SEGMENTS_SHOWN),
    ]


def _centers_and_drains(rows, n: int = TOP) -> tuple[list, list]:
    """The `n` biggest profit centers (highest net profit first) and drains (biggest loss first) of a
    dimension's rows, by two small indexed queries rather than reading every value. The empty value
    (`(none)`: the lines without a partner, a branch...) is no center nor drain to call out ("Partner
    (none) earns 39% of net profit"); it stays in the table and the curve, as PROFIT_CENTERS.md has it."""
    with_a_value = rows.exclude(value="")
    centers = list(with_a_value.filter(net_profit__gt=0).order_by("position")[:n])
    drains = list(with_a_value.filter(net_profit__lt=0).order_by("-position")[:n])
    return centers, drains


def report(*, distributor, run, dimension: str, rows=None) -> dict:
    """The whale curve (cumulative net profit along the values, highest first), its peak, what the
    drains give away, and the top centers and drains in words: as the run stored them, or of `rows`
    when given (a slice, computed in memory)."""
    label = dimension_label(dimension)
    if rows is None:
        stored = profit_curve(distributor=distributor, run=run, dimension=dimension)
        curve = {field: getattr(stored, field) for field in CURVE_FIELDS} if stored else None
        listed = profit_center_list(distributor=distributor, run=run, dimension=dimension)
        centers, drains = _centers_and_drains(listed)
    else:
        # The exact numerators of the slice's values (as the job's curve), not their rounded cents: the
        # total of the slice is then the same to the cent whichever dimension cuts it.
        unit = rows[0].unit if rows else 1
        curve = whale_curve([r.net_profit_n for r in rows], unit, [r.value for r in rows])
        centers = [r for r in rows if r.net_profit > 0 and r.value][:TOP]  # (none) aside, as above
        drains = [r for r in reversed(rows) if r.net_profit < 0 and r.value][:TOP]
    curve = curve or dict.fromkeys(CURVE_FIELDS, 0) | {"points": []}
    shown_values = {r.value for r in (*centers, *drains)} | {value for _p, value, _c in curve["points"]}
    names = value_names(distributor=distributor, dimension=dimension, codes=shown_values)
    words = []
    for r in centers:
        name = f"{label} {named(r.value, names)}"
        share = format_percent(r.net_profit_share, distributor, decimals=0) if r.net_profit_share is not None else None
        if share:
            words.append(f"{name} earns {share} of net profit ({format_money(r.net_profit, distributor)}).")
        else:
            words.append(f"{name} earns {format_money(r.net_profit, distributor)}.")
    for r in drains:
        name, loss = f"{label} {named(r.value, names)}", format_money(-r.net_profit, distributor)
        parts = {k: Decimal(v) for k, v in (r.cost_parts or {}).items()}
        biggest = max(parts, key=parts.get) if parts else None
        mostly = f", mostly in {COST_PARTS[biggest]}" if biggest else ""
        if r.gross_margin < 0:
            words.append(f"{name} loses {loss}: its gross margin is already negative.")
        else:
            words.append(f"{name} loses {loss} after cost-to-serve{mostly}.")
    points, peak_at = curve["points"], curve["peak_at"]
    return {
        "label": label,
        "count": curve["values"],
        "centers": centers,
        "drains": drains,
        "words": words,
        # The chart's points, and the peak's index among them (1-based; 0: no value reaches above 0).
        "curve": {
            "labels": [named(value, names) for _position, value, _cumulative in points],
            "points": [float(cumulative) for _position, _value, cumulative in points],
            "positions": [position for position, _value, _cumulative in points],
            "peak_at": next((i for i, p in enumerate(points, start=1) if p[0] == peak_at), 0),
        },
        "peak": curve["peak"],
        "peak_values": peak_at,
        "total": curve["total"],
        "given_away": curve["given_away"],
        "drain_count": curve["drains"],
        "center_count": curve["centers"],
    }


def top_centers_and_drains(*, distributor, run, dimension: str, n: int = TOP) -> dict:
    """The dashboard's card: the `n` biggest profit centers and drains of one dimension."""

    def compute():
        listed = profit_center_list(distributor=distributor, run=run, dimension=dimension)
        centers, drains = _centers_and_drains(listed, n)
        names = value_names(distributor=distributor, dimension=dimension, codes={r.value for r in (*centers, *drains)})
        for r in (*centers, *drains):
            r.label = named(r.value, names)
        for r in drains:
            r.loss = -r.net_profit
        return {"dimension": dimension, "label": dimension_label(dimension), "centers": centers, "drains": drains}

    # Cached per run once its profit centers are written (the curve exists; writing them bumps the
    # tenant's cache generation, so an entry from before never shows).
    if profit_curve(distributor=distributor, run=run, dimension=dimension) is None:
        return compute()
    return run_cached(distributor, run, f"profit-top:v2:{dimension}:{n}", compute)


def matrix_choices(dimension: str) -> list[tuple[str, str]]:
    """The heat maps the page offers for a dimension: by segment (but for the segments themselves: a
    diagonal, every other cell empty), and the pairs it leads."""
    by_segment = [("segment", "Segment")] if dimension != "segment" else []
    return by_segment + [(b, dimension_label(b)) for a, b in PAIRS if a == dimension]


def heat_map(*, distributor, run, dimension: str, by: str, max_rows: int = 30, max_columns: int = 20) -> dict:
    """A two-dimension matrix of net profit: rows are `dimension`'s values (by net profit), columns
    `by`'s; each cell's colour scales with its net profit against the largest absolute one."""
    # The top rows (and columns) by net profit, then only their cells: a few queries of bounded size
    # whatever the number of values (25,000 products).
    all_values = profit_center_list(distributor=distributor, run=run, dimension=dimension)
    values = list(all_values.values_list("value", flat=True)[:max_rows])
    cells_of = profit_center_list(distributor=distributor, run=run, dimension=dimension, by=by).defer(*UNUSED_BY_MAPS)
    if by == "segment":
        cells = list(cells_of.filter(value__in=values))
        columns = [s for s in SEGMENTS_SHOWN if any(c.by_value == s for c in cells)]
        headers = [SEGMENT_LABELS[s] for s in columns]
    else:
        order = profit_center_list(distributor=distributor, run=run, dimension=by)
        present = order.filter(value__in=cells_of.values("by_value"))
        columns = list(present.values_list("value", flat=True)[:max_columns])
        cells = list(cells_of.filter(value__in=values, by_value__in=columns))
        by_names = value_names(distributor=distributor, dimension=by, codes=columns)
        headers = [named(v, by_names) for v in columns]
    names = value_names(distributor=distributor, dimension=dimension, codes=values)
    present_rows = {c.value for c in cells}
    truncated = len(values) == max_rows and all_values[max_rows : max_rows + 1].exists()
    values = [v for v in values if v in present_rows]
    lookup = {(c.value, c.by_value): c for c in cells}
    biggest = max((abs(c.net_profit) for c in cells), default=Decimal(0)) or Decimal(1)
    rows = []
    for v in values:
        row = []
        for col in columns:
            c = lookup.get((v, col))
            if c is None:
                row.append(None)
                continue
            strength = float(abs(c.net_profit) / biggest)
            colour = "25, 135, 84" if c.net_profit >= 0 else "220, 53, 69"
            row.append({"cell": c, "style": f"background-color: rgba({colour}, {0.08 + 0.62 * strength:.2f})"})
        rows.append({"value": named(v, names), "cells": row})
    return {"by": by, "headers": headers, "rows": rows, "truncated": truncated}


def page_figures(*, distributor, run, dimension: str, matrix: str) -> dict:
    """What the Profit centers page shows above and beside its table: the report, the dimension's heat
    map and branch x category. Cached per run once its profit centers are written (they never change
    after; the curve's id is in the key, so nothing is cached while they are still being computed)."""

    def rendered(map_id: str, **kwargs) -> dict:
        # The heat map's cells rendered once (hundreds of amounts in the tenant's format).
        figures = heat_map(distributor=distributor, run=run, **kwargs)
        context = {"map": figures, "map_id": map_id, "tenant": distributor}
        return {**figures, "html": render_to_string("insights/_heat_map.html", context)}

    def compute():
        return {
            "report": report(distributor=distributor, run=run, dimension=dimension),
            "matrix": rendered("profit-matrix", dimension=dimension, by=matrix) if matrix else None,
            "branch_by_category": rendered("branch-category-matrix", dimension="branch", by="category")
            if dimension != "branch"
            else None,
        }

    curve = profit_curve(distributor=distributor, run=run, dimension=dimension)
    if curve is None:
        return compute()
    return run_cached(distributor, run, f"profit-centers:v2:{dimension}:{matrix}:{curve.pk}", compute)


# --- slices (issue 16, item 6) ---------------------------------------------------------------------------


def sliced_rows(*, distributor, run, frame, dimension: str) -> list | None:
    """Profit-center rows of `dimension` for the customers of a sliced frame (the run's per-customer
    table cut by branch, class, region or rep), computed exactly as the job computes them for every
    customer (segments.selectors.profit_centers_of_customers): every figure of PROFIT_CENTERS.md,
    the share of the slice's net profit, net profit by segment. Highest net profit first. None when
    the data changed since the run."""
    from types import SimpleNamespace

    from segments.profit_centers import stored_figures
    from segments.selectors import profit_centers_of_customers

    ranked = frame[frame["segment"] != "lapsed"]
    segments = dict(zip(ranked["customer"].astype(int), ranked["segment"], strict=True))
    tables = profit_centers_of_customers(distributor=distributor, run=run, segments=segments)
    if tables is None:
        return None
    values = tables[(dimension, "segment")].values
    total = sum(f.net_profit_n for f in tables[("segment", "segment")].values.values())
    rows = []
    for position, (value, f) in enumerate(ordered(values), start=1):
        rows.append(
            SimpleNamespace(
                value=value, position=position, net_profit_n=f.net_profit_n, unit=f.unit, **stored_figures(f, total)
            )
        )
    return rows
