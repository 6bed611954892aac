"""Core-first operations pages (issue 17), read side: one table shape per page (columns declared as
(key, label, kind)), built on the list-page base with CSV/XLSX exports of every filtered row. The
figures come from `operations.selectors`, computed once per published run, inventory and thresholds
(`insights.caching.run_cached`, keyed by an inventory-and-settings stamp) and sorted in Python with a
plain key (django-tables2's comparator sort is slow on 100,000s of rows).

Each page says in one sentence what it is for and which department uses it (`PAGES`)."""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass
from decimal import Decimal

import django_tables2 as tables
import pandas as pd
from django.utils.html import format_html
from django_tables2.data import TableData

from channels.vocabulary import ship_method_label
from operations.selectors import DEMAND_DIMENSIONS, run_cached
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_RANK
from stratify.exports import Money, Percent
from stratify.formatting import format_money, format_number, format_percent
from stratify.tenancy.lists import LeanTable

RIGHT = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


@dataclass(frozen=True)
class Page:
    url_name: str
    title: str
    purpose: str  # one sentence: what it is for and which department uses it
    needs_inventory: bool = False  # nothing to show without it
    uses_inventory: bool = False  # reads its lead times (the default without): says what importing it adds


PAGES: dict[str, Page] = {
    "cut": Page(
        "ops-cut-impact",
        "Supplier, brand or product cut",
        "For purchasing: before dropping a supplier, brand or product, see which core customers buy it, the"
        " money at risk and the alternatives they already buy, and save the choice as a scenario to compare.",
    ),
    "demand": Page(
        "ops-core-demand",
        "Core demand",
        "For purchasing and inventory planning: what core customers buy per product, category, brand or"
        " supplier, how often, and how much they will need over the lead time.",
        uses_inventory=True,
    ),
    "scarce": Page(
        "ops-scarce-stock",
        "Scarce stock",
        "For purchasing and the warehouse: products whose stock will not cover the lead-time demand, and an"
        " allocation list that serves core customers first, showing who would be short and by how much.",
        needs_inventory=True,
        uses_inventory=True,
    ),
    "stock": Page(
        "ops-stock",
        "Stock / non-stock",
        "For purchasing and category management: non-stock items core customers keep special-ordering"
        " (candidates to stock) and stock items no core customer buys (candidates to drop).",
    ),
    "deliveries": Page(
        "ops-deliveries",
        "Deliveries and routes",
        "For operations and dispatch: deliveries, their cost and revenue per branch and ship method by"
        " segment, and what consolidating marginal customers' deliveries would save.",
    ),
    "marketing": Page(
        "ops-marketing",
        "Marketing lists",
        "For marketing: non-core customers that look like your core customers, ranked, with the categories"
        " to pitch, ready to export for a campaign.",
    ),
}
INVENTORY_PITCH = (
    "No inventory is imported yet. Import the inventory file (product, branch, on hand, on order, lead time;"
    " Import data → Inventory) to see which products will run short before the next delivery, who among"
    " your core customers would go without, the lead-time demand per product, and the allocation list"
    " purchasing can export."
)


def cached(distributor, run, name: str, compute, *, frames: bool = True):
    """`compute()` (rows or a tuple of rows), cached as DataFrames (`frames`; else as it is) under
    (tenant, run, name, stamp)."""

    def as_frames():
        result = compute()
        if not frames:
            return result
        return tuple(to_frame(r) for r in result) if isinstance(result, tuple) else to_frame(result)

    return run_cached(distributor=distributor, run=run, name=f"page:{name}", compute=as_frames, memo=True)


# --- tables ----------------------------------------------------------------------------------------

MONEY, PCT, NUMBER, INT, TEXT, SEGMENT = "money", "pct", "number", "int", "text", "segment"
SCORE = "score"  # a ranking score, shown to 4 decimals: the order it ranks by (docs/OPERATIONS.md)
SHIP = "ship_method"  # a ship method's code, shown and exported in words (channels.vocabulary)


def to_frame(rows) -> pd.DataFrame:
    """Rows (dicts) as a DataFrame: what the pages cache, filter, sort and page (columnar: a cached
    frame of 200,000 rows loads in milliseconds, where a list of dicts takes most of a second). Money
    (Decimal cents) is kept exact as integer cents (nullable Int64), listed in `attrs["cents"]`, and
    turned back into Decimal for the rows shown or exported."""
    if isinstance(rows, pd.DataFrame):
        return rows
    rows = list(rows)
    frame = pd.DataFrame(rows)
    cents = []
    if rows:
        for column in frame.columns:
            sample = next((r.get(column) for r in rows if r.get(column) is not None), None)
            if isinstance(sample, Decimal):
                frame[column] = pd.array(
                    [None if r.get(column) is None else int(r[column].scaleb(2)) for r in rows], dtype="Int64"
                )
                cents.append(column)
    frame.attrs["cents"] = cents
    return frame


def _record(row: dict, cents=()) -> dict:
    out = {}
    for key, value in row.items():
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out[key] = None
        elif key in cents:
            out[key] = Decimal(int(value)).scaleb(-2)
        else:
            out[key] = value
    return out


_SORTED: dict = {}  # (id of a table, sort) -> (weak reference to it, the sorted table): the last few
_SORTED_LOCK = threading.Lock()


def _segments_in_their_order(column: pd.Series) -> pd.Series:
    """Sort key: a segment column sorts in the pages' order (core, opportunistic, service drain,
    marginal: the allocation's serving order), not alphabetically; other columns as they are."""
    return column.map(SEGMENT_RANK) if column.name == "segment" else column


class FrameData(TableData):
    """django-tables2 data over a DataFrame: pages are sliced out as dicts, sorting is pandas'
    (missing values last), so only the rows shown become Python objects."""

    def __init__(self, frame: pd.DataFrame):
        self.cents = frozenset(frame.attrs.get("cents", ()))
        self.source = frame  # the table as given (sorted versions of a cached one are kept: _SORTED)
        super().__init__(frame)  # rows are taken by position (iloc): no copy of the table per request

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [_record(r, self.cents) for r in self.data.iloc[key].to_dict("records")]
        return _record(self.data.iloc[key].to_dict(), self.cents)

    def __iter__(self):
        for start in range(0, len(self.data), 5000):
            yield from self[start : start + 5000]

    def order_by(self, aliases):
        columns, ascending = [], []
        for alias in aliases:
            name = alias.lstrip("-")
            if name in self.data.columns:
                columns.append(name)
                ascending.append(not alias.startswith("-"))
        if not columns:
            return
        key = (id(self.source), tuple(columns), tuple(ascending))
        with _SORTED_LOCK:
            found = _SORTED.get(key)
        if found is not None and found[0]() is self.source:  # the same (memoized) table, sorted before
            self.data = found[1]
            return
        self.data = self.data.sort_values(
            columns, ascending=ascending, na_position="last", kind="stable", key=_segments_in_their_order
        )
        with _SORTED_LOCK:
            _SORTED[key] = (weakref.ref(self.source), self.data)
            while len(_SORTED) > 8:
                _SORTED.pop(next(iter(_SORTED)))


def filter_frame(frame: pd.DataFrame, *, query: str = "", keys=(), segment: str = "") -> pd.DataFrame:
    """The rows whose `keys` contain `query` (case-insensitive) and, when given, of one segment."""
    if frame.empty:
        return frame
    if query and keys:
        mask = pd.Series(False, index=frame.index)
        for key in keys:
            if key in frame.columns:
                mask |= frame[key].astype(str).str.contains(query, case=False, regex=False, na=False)
        frame = frame[mask]
    if segment and "segment" in frame.columns:
        frame = frame[frame["segment"] == segment]
    return frame


class RowsTable(LeanTable):
    """A table over dict rows whose columns are declared by `spec`: [(key, label, kind)]."""

    spec: tuple[tuple[str, str, str], ...] = ()
    blanks: dict[str, str] = {}  # what an empty text cell says, per column

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0"}

    def __init__(self, rows, *args, **kwargs):
        extra = [
            (
                key,
                tables.Column(verbose_name=label, attrs=RIGHT if kind in (MONEY, PCT, NUMBER, INT, SCORE) else {}),
            )
            for key, label, kind in self.spec
        ]
        super().__init__(FrameData(to_frame(rows)), *args, extra_columns=extra, **kwargs)
        self.kinds = {key: kind for key, _, kind in self.spec}

    def cell_value(self, record, name):
        return record.get(name)

    def render_cell(self, name, value):
        kind = self.kinds.get(name)
        if kind == MONEY:
            css = "text-danger" if value < 0 else ""
            return format_html('<span class="{}">{}</span>', css, format_money(value, self.distributor, decimals=2))
        if kind == PCT:
            return format_percent(value, self.distributor)
        if kind == NUMBER:
            return format_number(value, self.distributor, decimals=1)
        if kind == INT:
            return format_number(value, self.distributor)
        if kind == SCORE:
            return format_number(value, self.distributor, decimals=4)
        if kind == SEGMENT:
            return format_html(
                '<span class="badge badge-segment segment-{}">{}</span>', value, SEGMENT_LABELS.get(value, value)
            )
        if kind == SHIP:
            return ship_method_label(value)
        return value

    def rendered_rows(self):
        columns = [
            (c.name, c.attrs.get("td", {}).as_html() if c.attrs.get("td") else "", c.default) for c in self.columns
        ]
        rows = []
        for row in self.page.object_list if self.page else self.rows:
            record, cells = row.record, []
            for name, attrs, default in columns:
                value = record.get(name)
                if value in (None, ""):
                    cells.append((attrs, self.blanks.get(name, default) if value == "" else default))
                    continue
                cells.append((attrs, format_html("{}", self.render_cell(name, value))))
            rows.append(cells)
        return rows

    @classmethod
    def export_headers(cls, currency: str) -> list[str]:
        return [f"{label} ({currency})" if kind == MONEY else (f"{label} %" if kind == PCT else label)
                for _, label, kind in cls.spec]  # fmt: skip

    @classmethod
    def export_row(cls, row: dict) -> list:
        out = []
        for key, _, kind in cls.spec:
            value = row.get(key)
            if value is None:
                out.append(None)
            elif kind == MONEY:
                out.append(Money(Decimal(value)))
            elif kind == PCT:
                out.append(Percent(value))
            elif kind == SEGMENT:
                out.append(SEGMENT_LABELS.get(value, value))
            elif kind == SHIP:
                out.append(ship_method_label(value))
            else:
                out.append(value)
        return out


def table_class(name: str, spec, table_id: str, blanks: dict | None = None) -> type[RowsTable]:
    meta = type(
        "Meta", (RowsTable.Meta,), {"attrs": {"class": "table table-sm table-hover align-middle mb-0", "id": table_id}}
    )
    return type(name, (RowsTable,), {"spec": tuple(spec), "Meta": meta, "blanks": blanks or {}})


SEGMENT_REVENUE = tuple(
    (f"revenue_{s}", f"Revenue: {SEGMENT_LABELS[s]}", MONEY)
    for s in ("core", "opportunistic", "service_drain", "marginal")
)

CutCustomersTable = table_class(
    "CutCustomersTable",
    [
        ("customer_id", "Customer", TEXT),
        ("name", "Name", TEXT),
        ("lines", "Cut lines", INT),
        ("revenue", "Revenue at risk", MONEY),
        ("gross_margin", "Gross margin at risk", MONEY),
        ("net_profit", "Net profit at risk", MONEY),
        ("window_revenue", "Customer's window revenue", MONEY),
        ("share", "Share of its spend", PCT),
    ],
    "cut-customers-table",
)


def _demand_table(dimension: str, label: str) -> type[RowsTable]:
    """The core-demand table of one dimension: its values headed by its name ("Product"), with their
    names where they have one (products, suppliers) and, for products, the lead time and the demand
    over it."""
    products = dimension == "product"
    return table_class(
        f"{label}DemandTable",
        [
            ("value", label, TEXT),
            *((("name", "Name", TEXT),) if dimension in ("product", "supplier") else ()),
            ("revenue", "Revenue", MONEY),
            ("core_revenue", "Core revenue", MONEY),
            ("core_share", "Core share", PCT),
            ("core_customers", "Core customers", INT),
            ("orders_per_core_customer", "Orders per core customer", NUMBER),
            ("units", "Units", NUMBER),
            ("core_units", "Core units", NUMBER),
            ("lines", "Lines", INT),
            ("core_lines", "Core lines", INT),
            *((("lead_time_days", "Lead time (days)", INT),) if products else ()),
            *((("core_lead_time_demand", "Core demand over lead time", NUMBER),) if products else ()),
            *SEGMENT_REVENUE[1:],
        ],
        "core-demand-table",
    )


DEMAND_TABLES: dict[str, type[RowsTable]] = {
    dimension: _demand_table(dimension, label) for dimension, (label, _sql) in DEMAND_DIMENSIONS.items()
}
ScarceTable = table_class(
    "ScarceTable",
    [
        ("product_id", "Product", TEXT),
        ("product_name", "Name", TEXT),
        ("branch", "Branch", TEXT),
        ("supply", "On hand + on order", NUMBER),
        ("lead_time_days", "Lead time (days)", INT),
        ("demand", "Demand over lead time", NUMBER),
        ("core_demand", "Core demand", NUMBER),
        ("short", "Short", NUMBER),
        ("core_short", "Core short", NUMBER),
        ("core_customers", "Core customers", INT),
    ],
    "scarce-table",
    {"branch": "all branches"},  # an inventory row without a branch covers every branch
)
AllocationTable = table_class(
    "AllocationTable",
    [
        ("product_id", "Product", TEXT),
        ("branch", "Branch", TEXT),
        ("position", "Served", INT),
        ("customer_id", "Customer", TEXT),
        ("customer_name", "Name", TEXT),
        ("segment", "Segment", SEGMENT),
        ("net_profit", "Net profit", MONEY),
        ("demand", "Demand over lead time", NUMBER),
        ("allocated", "Allocated", NUMBER),
        ("short", "Short", NUMBER),
    ],
    "allocation-table",
    {"branch": "all branches"},
)
ToStockTable = table_class(
    "ToStockTable",
    [
        ("product_id", "Product", TEXT),
        ("name", "Name", TEXT),
        ("category", "Category", TEXT),
        ("supplier_id", "Supplier", TEXT),
        ("core_customers", "Core customers", INT),
        ("core_orders", "Core orders", INT),
        ("special_lines", "Special-order lines", INT),
        ("saving", "Special-order cost saved", MONEY),
        ("revenue", "Revenue", MONEY),
    ],
    "to-stock-table",
)
ToDropTable = table_class(
    "ToDropTable",
    [
        ("product_id", "Product", TEXT),
        ("name", "Name", TEXT),
        ("category", "Category", TEXT),
        ("supplier_id", "Supplier", TEXT),
        ("lines", "Lines", INT),
        ("customers", "Customers", INT),
        ("revenue", "Revenue", MONEY),
        ("affected", "Who would be affected", TEXT),
    ],
    "to-drop-table",
)
DeliveriesTable = table_class(
    "DeliveriesTable",
    [
        ("branch", "Branch", TEXT),
        ("ship_method", "Ship method", SHIP),
        ("rate", "Rate per delivery", MONEY),
        ("deliveries", "Deliveries", INT),
        ("cost", "Delivery cost", MONEY),
        ("revenue", "Revenue", MONEY),
        *(
            (f"deliveries_{s}", f"Deliveries: {SEGMENT_LABELS[s]}", INT)
            for s in ("core", "opportunistic", "service_drain", "marginal")
        ),
        *((f"cost_{s}", f"Delivery cost: {SEGMENT_LABELS[s]}", MONEY) for s in ("core", "marginal")),
        *((f"revenue_{s}", f"Revenue: {SEGMENT_LABELS[s]}", MONEY) for s in ("core", "marginal")),
    ],
    "deliveries-table",
    {"branch": "(none)", "ship_method": "(none)"},
)
LookalikeTable = table_class(
    "LookalikeTable",
    [
        ("customer_id", "Customer", TEXT),
        ("name", "Name", TEXT),
        ("segment", "Segment", SEGMENT),
        ("group", "Class or role", TEXT),
        ("similarity", "Similarity to core", PCT),
        ("share_of_wallet", "Share of wallet", PCT),
        ("score", "Score", SCORE),
        ("pitch", "Categories to pitch", TEXT),
    ],
    "lookalike-table",
)
