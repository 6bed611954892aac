"""Core-first operations (issue 17): what purchasing, operations and marketing read, computed over the
published run's window in the database (SQL `GROUP BY`, one statement per figure) and pandas over
whole columns, never a query per customer or product.

* `cut_impact`: the core customers a supplier, brand or product cut would hit and the money at risk;
* `core_demand`: revenue, units and lines by segment per product, category, brand or supplier;
* `scarce_stock`: products whose stock is below the lead-time demand, allocated core first;
* `stock_recommendations`: non-stock items core customers buy repeatedly, stock items nobody core buys;
* `deliveries` and `consolidation`: deliveries per branch and ship method, and what consolidating the
  marginal customers' deliveries would save;
* `lookalikes`: non-core customers that look like core ones, with the categories to pitch.

Money is summed exactly in integer units of 1/10,000 (as `sales.summaries` does) and given as Decimal
cents; quantities are floats (they are shown, never booked). Every statement filters by the tenant.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max

from channels.selectors import partner_list
from sales.models import Customer, CustomerCategory, CustomerInvoice, Inventory, InvoiceLine, Product
from sales.summaries import UNITS, units_sum
from segments.models import CustomerScore
from segments.names import coded
from segments.selectors import latest_invoice_date, run_window
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER, SEGMENT_RANK
from stratify.db import is_postgres
from stratify.engine import ModelSettings
from stratify.jobs.models import Job

from .models import CoreCustomer, CoreProduct, CutPair, CutScenario, OperationsSettings, RunCutTables

LINES = InvoiceLine._meta.db_table
PRODUCTS = Product._meta.db_table
CUSTOMERS = Customer._meta.db_table
SCORES = CustomerScore._meta.db_table
INVENTORY = Inventory._meta.db_table
INVOICES = CustomerInvoice._meta.db_table
CATEGORIES = CustomerCategory._meta.db_table
CUT_PAIRS = CutPair._meta.db_table
CORE_PRODUCTS = CoreProduct._meta.db_table
CORE_CUSTOMERS = CoreCustomer._meta.db_table
CENT = Decimal("0.01")
CORE = "core"
DEMAND_DIMENSIONS: dict[str, tuple[str, str]] = {
    "product": ("Product", "p.product_id"),
    "category": ("Category", "p.category"),
    "brand": ("Brand", "p.brand"),
    "supplier": ("Supplier", "p.supplier_id"),
}
CUT_KEYS = ("supplier", "brand", "product")


# --- small helpers ---------------------------------------------------------------------------------


def money(units) -> Decimal:
    """Integer units of 1/10,000 -> Decimal rounded half-even to the cent."""
    return (Decimal(int(units)) / UNITS).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _rows(sql: str, params: list, *, serial: bool = False) -> list[tuple]:
    """Run one statement. On PostgreSQL without JIT compilation: these statements run in a fraction of
    a second, and the planner's cost estimates (a correlated subquery per customer) trigger JIT, whose
    compilation alone took 3 s at 1M lines (bench/bench_operations.py). `serial`: without parallel
    workers and with room to aggregate in memory, for a statement that reads an index range (the cut):
    its parallel plan had every worker build the same aggregate, 3x the work (1.9 s instead of 0.9 s
    at 10M lines)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("SET LOCAL jit = off")
            if serial:
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _frame(sql: str, params: list, columns: list[str], *, serial: bool = False) -> pd.DataFrame:
    return pd.DataFrame(_rows(sql, params, serial=serial), columns=columns)


def settings_get(*, distributor) -> OperationsSettings:
    """The tenant's thresholds (an unsaved row of defaults when it has never changed them)."""
    found = OperationsSettings.objects.filter(distributor=distributor).first()
    return found if found is not None else OperationsSettings(distributor=distributor)


def data_stamp(*, distributor) -> str:
    """What the operations figures depend on besides the published run: the tenant's latest successful
    import (inventory, products...) and its thresholds. Part of every per-run cache key (two small
    queries; writes that bypass the import, like the demo loader, come before the run they go with)."""
    settings = settings_get(distributor=distributor)
    changed = settings.updated_at.timestamp() if settings.updated_at else 0
    return f"{imports_stamp(distributor=distributor)}-{changed}"


def imports_stamp(*, distributor) -> str:
    """When the tenant's latest successful import finished ("0": never): what the lines were then
    (read once per distributor object, one request)."""
    stamp = getattr(distributor, "_ops_imports", None)
    if stamp is None:
        imported = (
            Job.objects.filter(distributor=distributor, kind="import", status=Job.Status.SUCCEEDED)
            .aggregate(last=Max("finished_at"))
            .get("last")
        )
        stamp = distributor._ops_imports = f"{imported.timestamp() if imported else 0}"
    return stamp


RUN_CACHE_SECONDS = 6 * 3600
_MISSING = object()
_MEMO: OrderedDict[str, tuple[object, int]] = OrderedDict()  # this process's latest results: (value, bytes)
_MEMO_ENTRIES = 32
_MEMO_BYTES = 256 * 2**20  # a few pages' tables at 200,000 products each
_MEMO_LOCK = threading.Lock()


_TEXT_BYTES = 64  # a short text value: the str object and its characters


def _size(value) -> int:
    """About how many bytes `value` holds: its columns, texts counted at _TEXT_BYTES each (walking every
    text to measure it took longer than reading a small table)."""
    if isinstance(value, pd.DataFrame):
        texts = sum(1 for dtype in value.dtypes if dtype.kind == "O" or pd.api.types.is_string_dtype(dtype))
        return int(value.memory_usage(deep=False).sum()) + texts * len(value) * _TEXT_BYTES
    if isinstance(value, tuple):
        return sum(_size(v) for v in value)
    return 0


def run_cached(*, distributor, run, name: str, compute, stamp: str | None = None, memo: bool = False):
    """`compute()`, cached under (tenant, run, its publication, `name`, the data stamp). A published run
    never changes; the stamp covers the inventory and thresholds it is read with. `memo`: also keep the
    result in this process (the last few, never modified by readers), which saves unpickling a large
    table on every page view. The data stamp is read once per distributor object (one request)."""
    published = (run.published_at or run.created_at).timestamp() if (run.published_at or run.created_at) else 0
    if stamp is None:
        stamp = getattr(distributor, "_ops_stamp", None)
        if stamp is None:
            stamp = distributor._ops_stamp = data_stamp(distributor=distributor)
    key = f"stratify:ops:{distributor.pk}:{run.pk}:{published}:{name}:{stamp}:v1"
    if memo:
        with _MEMO_LOCK:
            if key in _MEMO:
                _MEMO.move_to_end(key)
                return _MEMO[key][0]
    # get, then set: not get_or_set, which reads a value it has just stored back (unpickling it again).
    # Two processes computing at once store the same value.
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, RUN_CACHE_SECONDS)
    if memo:
        size = _size(value)
        with _MEMO_LOCK:
            _MEMO[key] = (value, size)
            total = sum(n for _, n in _MEMO.values())
            while len(_MEMO) > 1 and (len(_MEMO) > _MEMO_ENTRIES or total > _MEMO_BYTES):
                total -= _MEMO.popitem(last=False)[1][1]
    return value


def model_settings(run) -> ModelSettings:
    """The cost rates the run was computed with."""
    return ModelSettings().with_overrides(run.settings or {})


def has_inventory(*, distributor) -> bool:
    return Inventory.objects.filter(distributor=distributor).exists()


@dataclass(frozen=True)
class Scope:
    """What every statement is bound to: the tenant, the published run and its window."""

    tenant: int
    run_pk: int
    start: date
    end: date
    window_days: int

    @classmethod
    def of(cls, distributor, run) -> Scope:
        window = run_window(run)
        return cls(int(distributor.pk), int(run.pk), window.start, window.as_of, int(window.window_days))

    def lines_from(self, *, segment: str | None = None) -> tuple[str, list]:
        """FROM the window's lines with their product (p) and score in the run (s)."""
        sql = (
            f" FROM {LINES} l JOIN {PRODUCTS} p ON p.id = l.product_id AND p.distributor_id = %s"
            f" JOIN {SCORES} s ON s.customer_id = l.customer_id AND s.distributor_id = %s AND s.run_id = %s"
            " WHERE l.distributor_id = %s AND l.invoice_date >= %s AND l.invoice_date <= %s"
        )
        params = [self.tenant, self.tenant, self.run_pk, self.tenant, self.start, self.end]
        if segment:
            sql += " AND s.segment = %s"
            params.append(segment)
        return sql, params


# --- cut impact ------------------------------------------------------------------------------------


@dataclass
class CutChoice:
    """Suppliers (ids), brands (names) and products (SKUs); a line matching any of them is cut."""

    supplier: list[str] = field(default_factory=list)
    brand: list[str] = field(default_factory=list)
    product: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query) -> CutChoice:
        """From `?supplier=..&brand=..&product=..` (each repeatable; blanks ignored; order kept, no repeats)."""

        def values(key):
            return list(dict.fromkeys(v.strip() for v in query.getlist(key) if v and v.strip()))

        return cls(*(values(key) for key in CUT_KEYS))

    @classmethod
    def of_scenario(cls, scenario: CutScenario) -> CutChoice:
        return cls(list(scenario.suppliers), list(scenario.brands), list(scenario.products))

    @property
    def empty(self) -> bool:
        return not (self.supplier or self.brand or self.product)

    def as_dict(self) -> dict[str, list[str]]:
        return {"supplier": self.supplier, "brand": self.brand, "product": self.product}

    def condition(self, alias: str = "p") -> tuple[str, list]:
        parts, params = [], []
        for values, column in ((self.supplier, "supplier_id"), (self.brand, "brand"), (self.product, "product_id")):
            if values:
                parts.append(f"{alias}.{column} IN ({', '.join(['%s'] * len(values))})")
                params.extend(values)
        return "(" + " OR ".join(parts or ["1 = 0"]) + ")", params


def cut_unknown(*, distributor, choice: CutChoice, run=None) -> dict[str, list[str]]:
    """The chosen values the tenant's products do not have ({"supplier": [...], ...}; empty: all known).
    With the published run, suppliers and brands are checked against its cached lists."""
    products = Product.objects.filter(distributor=distributor)
    unknown = {}
    if run is not None:
        for key, known in (
            ("supplier", supplier_choices(distributor=distributor, run=run)),
            ("brand", brand_choices(distributor=distributor, run=run)),
        ):
            known = set(known)
            missing = [v for v in getattr(choice, key) if v not in known]
            if missing:
                unknown[key] = missing
    for key, column, values in (
        ("supplier", "supplier_id", choice.supplier if run is None else []),
        ("brand", "brand", choice.brand if run is None else []),
        ("product", "product_id", choice.product),
    ):
        if values:
            known = set(
                products.filter(**{f"{column}__in": values}).order_by().values_list(column, flat=True).distinct()
            )
            missing = [v for v in values if v not in known]
            if missing:
                unknown[key] = missing
    return unknown


CUT_COLUMNS = ["customer_pk", "segment", "customer_id", "name", "window_revenue", "customers", "lines",
               "special_lines", "revenue_units", "cost_units"]  # fmt: skip


def cut_tables(*, distributor, run) -> RunCutTables | None:
    """The run's cut tables (`CutPair`, `CoreCustomer`, `CoreProduct`) when they are written and still describe the
    lines (no import since they were); None: the cut reads the lines (same figures, slower)."""
    built = RunCutTables.objects.filter(distributor=distributor, run=run).first()
    if built is None or built.imports_stamp != imports_stamp(distributor=distributor):
        return None
    return built


def line_sums() -> str:
    """The SELECT list of a cut's sums over lines `l`: lines, special-order lines, revenue and cost in
    integer units (a function: `units_sum` depends on the backend in use)."""
    return (
        "count(*) AS lines, sum(CASE WHEN l.special_order THEN 1 ELSE 0 END) AS special_lines,"
        f" {units_sum('l.revenue')} AS revenue_units, {units_sum('l.cost')} AS cost_units"
    )


def core_accounts(scope: Scope) -> tuple[str, list]:
    """SQL of (customer_id, account, name, window_revenue) per core customer of the run, with its params."""
    return (
        f"SELECT s.customer_id, c.customer_id AS account, c.name, s.revenue AS window_revenue FROM {SCORES} s"
        f" JOIN {CUSTOMERS} c ON c.id = s.customer_id AND c.distributor_id = %s"
        " WHERE s.distributor_id = %s AND s.run_id = %s AND s.segment = %s",
        [scope.tenant, scope.tenant, scope.run_pk, CORE],
    )


def _cut_rows(per_customer: str, params: list, accounts: str, accounts_params: list) -> pd.DataFrame:
    """The cut's rows from `per_customer`, SQL of (customer_id, segment, lines, special_lines,
    revenue_units, cost_units) per customer with a cut line: one row per core customer (the only ones
    listed) with its account number, name and window revenue from `accounts` (SQL of (customer_id,
    account, name, window_revenue) per core customer of the run), and one row per other segment summing
    its customers (`customers` counts them; the figures are sums, net profit included: its per-line
    costs are linear in the lines). The join with `accounts` is what keeps the core rows, with no
    filter on the segment: filtered, the planner guessed a few dozen core rows and looked each one up."""
    return _frame(
        f"WITH cut AS ({per_customer})"
        " SELECT cut.customer_id, cut.segment, k.account, k.name, k.window_revenue, 1, cut.lines,"
        f" cut.special_lines, cut.revenue_units, cut.cost_units FROM cut JOIN ({accounts}) k"
        " ON k.customer_id = cut.customer_id"
        " UNION ALL"
        " SELECT NULL, cut.segment, NULL, NULL, NULL, count(*), CAST(sum(cut.lines) AS bigint),"
        " CAST(sum(cut.special_lines) AS bigint), CAST(sum(cut.revenue_units) AS bigint),"
        " CAST(sum(cut.cost_units) AS bigint)"
        f" FROM cut WHERE cut.segment <> '{CORE}' GROUP BY cut.segment",
        [*params, *accounts_params],
        CUT_COLUMNS,
        serial=True,
    )


def _cut_rows_of_lines(scope: Scope, choice: CutChoice) -> pd.DataFrame:
    """`_cut_rows` from the window's lines: the cut lines summed per customer (an index-only range
    scan per cut product of `invoiceline_product_idx` on PostgreSQL), then joined to the customer's
    score in the run (its segment); the core customers' accounts from their scores and accounts."""
    cut, cut_params = choice.condition()
    return _cut_rows(
        f"SELECT l.customer_id, s.segment, l.lines, l.special_lines, l.revenue_units, l.cost_units"
        f" FROM (SELECT l.customer_id, {line_sums()}"
        f" FROM {LINES} l JOIN {PRODUCTS} p ON p.id = l.product_id AND p.distributor_id = %s"
        f" WHERE l.distributor_id = %s AND l.invoice_date >= %s AND l.invoice_date <= %s AND {cut}"
        f" GROUP BY l.customer_id) l"
        f" JOIN {SCORES} s ON s.customer_id = l.customer_id AND s.distributor_id = %s AND s.run_id = %s",
        [scope.tenant, scope.tenant, scope.start, scope.end, *cut_params, scope.tenant, scope.run_pk],
        *core_accounts(scope),
    )  # fmt: skip


def _cut_rows_of_pairs(scope: Scope, choice: CutChoice, tables: RunCutTables) -> pd.DataFrame:
    """`_cut_rows` from the run's `CutPair` rows: a line is cut iff its (supplier, brand) pair is chosen
    or its product is, so the cut is the sum of the chosen pairs' rows (an index range per pair) plus
    the lines of the chosen products whose pair is not chosen (through `invoiceline_product_idx`), two
    disjoint sets; the core customers' accounts from the run's `CoreCustomer` rows."""
    suppliers, brands = set(choice.supplier), set(choice.brand)
    pairs = [(s, b) for s, b in tables.pair_list if s in suppliers or b in brands]
    parts, params = [], []
    if pairs:
        matched = " OR ".join(["(supplier_id = %s AND brand = %s)"] * len(pairs))
        parts.append(
            f"SELECT customer_id, segment, lines, special_lines, revenue_units, cost_units FROM {CUT_PAIRS}"
            f" WHERE distributor_id = %s AND run_id = %s AND ({matched})"
        )
        params += [scope.tenant, scope.run_pk, *(value for pair in pairs for value in pair)]
    if choice.product:
        base, base_params = scope.lines_from()
        chosen, chosen_params = CutChoice(supplier=choice.supplier, brand=choice.brand).condition()
        parts.append(
            f"SELECT l.customer_id AS customer_id, s.segment AS segment, {line_sums()}{base}"
            f" AND p.product_id IN ({', '.join(['%s'] * len(choice.product))}) AND NOT {chosen}"
            " GROUP BY l.customer_id, s.segment"
        )
        params += [*base_params, *choice.product, *chosen_params]
    if not parts:
        return pd.DataFrame(columns=CUT_COLUMNS)
    return _cut_rows(
        "SELECT customer_id, segment, CAST(sum(lines) AS bigint) AS lines,"
        " CAST(sum(special_lines) AS bigint) AS special_lines, CAST(sum(revenue_units) AS bigint) AS revenue_units,"
        f" CAST(sum(cost_units) AS bigint) AS cost_units FROM ({' UNION ALL '.join(parts)}) AS u"
        " GROUP BY customer_id, segment",
        params,
        f"SELECT customer_id, account, name, window_revenue FROM {CORE_CUSTOMERS}"
        " WHERE distributor_id = %s AND run_id = %s",
        [scope.tenant, scope.run_pk],
    )


def cut_impact(*, distributor, run, choice: CutChoice, alternatives: int = 5) -> dict:
    """What cutting `choice` puts at risk in the published run's window.

    Per customer with a cut line (any segment): its cut lines' revenue, gross margin (revenue - cost) and
    net profit at risk (that gross margin less the per-line costs the lines carry at the run's rates:
    cost per line, and cost per special-order line; the orders and deliveries they rode on stay), and the
    revenue's share of the customer's window revenue. `core_customers`, `revenue`, `gross_margin` and
    `net_profit` are the core customers' sums; `total` and `by_segment` every customer's. `alternatives`:
    per category of the cut products, the products not cut that core customers already buy."""
    scope = Scope.of(distributor, run)
    rates = model_settings(run)
    tables = cut_tables(distributor=distributor, run=run)
    rows = _cut_rows_of_pairs(scope, choice, tables) if tables is not None else _cut_rows_of_lines(scope, choice)
    # Money in exact integer units of 1/10,000; the per-line costs too (rates have at most 4 decimals,
    # else they are rounded to 4: RATE_FIELDS are money).
    per_line = int((Decimal(rates.cost_per_line) * UNITS).to_integral_value(ROUND_HALF_EVEN))
    per_special = int((Decimal(rates.cost_per_special_order) * UNITS).to_integral_value(ROUND_HALF_EVEN))
    for column in ("customers", "lines", "special_lines", "revenue_units", "cost_units"):
        rows[column] = rows[column].astype("int64")
    rows["gm_units"] = rows["revenue_units"] - rows["cost_units"]
    rows["net_units"] = rows["gm_units"] - rows["lines"] * per_line - rows["special_lines"] * per_special

    def sums(part: pd.DataFrame) -> dict:
        return {
            "customers": int(part["customers"].sum()),
            "revenue": money(int(part["revenue_units"].sum())),
            "gross_margin": money(int(part["gm_units"].sum())),
            "net_profit": money(int(part["net_units"].sum())),
        }

    by_segment = [
        {"segment": s, "label": SEGMENT_LABELS[s], **sums(part)}
        for s, part in sorted(rows.groupby("segment"), key=lambda item: SEGMENT_RANK.get(item[0], 99))
    ]
    # Only the core customers are listed: only they are sorted (most revenue at risk first).
    core_rows = rows[rows["segment"] == CORE].sort_values(["revenue_units", "customer_id"], ascending=[False, True])
    customers = []
    for customer_id, name, lines, revenue, gross_margin, net_profit, units, window in zip(
        core_rows["customer_id"].tolist(),
        core_rows["name"].tolist(),
        core_rows["lines"].tolist(),
        cents_of(core_rows["revenue_units"]).tolist(),  # money(): half-even to the cent, whole columns
        cents_of(core_rows["gm_units"]).tolist(),
        cents_of(core_rows["net_units"]).tolist(),
        core_rows["revenue_units"].tolist(),
        core_rows["window_revenue"].tolist(),
        strict=True,
    ):
        # The window revenue (a float in the score) as the exact Decimal of its shortest repr.
        window = None if window is None or window != window else Decimal(repr(window))
        customers.append(
            {
                "customer_id": customer_id,
                "name": name or "",
                "segment": CORE,
                "lines": lines,
                "revenue": Decimal(revenue).scaleb(-2),
                "gross_margin": Decimal(gross_margin).scaleb(-2),
                "net_profit": Decimal(net_profit).scaleb(-2),
                "window_revenue": None if window is None else window.quantize(CENT, rounding=ROUND_HALF_EVEN),
                "share": float(Decimal(units) / (window * UNITS)) if window and window > 0 else None,
            }
        )
    core = sums(core_rows)
    return {
        "choice": choice.as_dict(),
        "run": run.number,
        "window": {"start": scope.start, "end": scope.end},
        "core_customers": sorted(core_rows["customer_id"].tolist()),
        "revenue": core["revenue"],
        "gross_margin": core["gross_margin"],
        "net_profit": core["net_profit"],
        "total": sums(rows),
        "by_segment": by_segment,
        "customers": customers,
        "alternatives": cut_alternatives(
            distributor=distributor, run=run, choice=choice, limit=alternatives, tables=tables
        )
        if alternatives
        else [],
    }


ALTERNATIVE_COLUMNS = ["category", "product_id", "name", "brand", "supplier_id", "core_customers", "revenue_units"]


def core_products(*, distributor, run) -> pd.DataFrame:
    """Per product that core customers bought in the run's window: its category, name, brand, supplier,
    core customers and core revenue (units). One scan of the window's lines, cached per run and kept in
    the process: the alternatives of a run without cut tables."""
    scope = Scope.of(distributor, run)

    def compute() -> pd.DataFrame:
        base, params = scope.lines_from(segment=CORE)
        return _frame(
            f"SELECT p.category, p.product_id, p.name, p.brand, p.supplier_id, count(DISTINCT l.customer_id),"
            f" {units_sum('l.revenue')}{base} AND p.category <> ''"
            " GROUP BY p.category, p.product_id, p.name, p.brand, p.supplier_id",
            params,
            ALTERNATIVE_COLUMNS,
        )

    # Keyed by the imports only: the thresholds (part of the default data stamp) do not change it.
    stamp = imports_stamp(distributor=distributor)
    return run_cached(distributor=distributor, run=run, name="core-products", compute=compute, memo=True, stamp=stamp)


def _alternatives_of_tables(scope: Scope, choice: CutChoice, limit: int) -> pd.DataFrame:
    """The candidates of `cut_alternatives` from the run's `CoreProduct` rows: per category of the cut
    products, its uncut products that rank within the first `limit` by core customers and revenue
    (ties share a rank, so the order by SKU, taken in Python, decides among them as it does for the
    lines). One statement per cut over the run's few thousand rows, nothing cached."""
    cut, cut_params = choice.condition("p")
    cut_of_q, cut_of_q_params = choice.condition("q")
    return _frame(
        "SELECT category, product_id, name, brand, supplier_id, core_customers, revenue_units FROM"
        " (SELECT p.category, p.product_id, p.name, p.brand, p.supplier_id, cp.core_customers, cp.revenue_units,"
        " rank() OVER (PARTITION BY p.category ORDER BY cp.core_customers DESC, cp.revenue_units DESC) AS place"
        f" FROM {CORE_PRODUCTS} cp JOIN {PRODUCTS} p ON p.id = cp.product_id AND p.distributor_id = %s"
        " WHERE cp.distributor_id = %s AND cp.run_id = %s AND p.category <> ''"
        f" AND p.category IN (SELECT q.category FROM {PRODUCTS} q WHERE q.distributor_id = %s AND {cut_of_q})"
        f" AND NOT {cut}) ranked"
        " WHERE place <= %s",
        [scope.tenant, scope.tenant, scope.run_pk, scope.tenant, *cut_of_q_params, *cut_params, limit],
        ALTERNATIVE_COLUMNS,
    )


def cut_alternatives(
    *, distributor, run, choice: CutChoice, limit: int = 5, tables: RunCutTables | None = None
) -> list[dict]:
    """Per category of the cut products: the products not cut that core customers bought in the window,
    most core customers first (at most `limit` per category); from the run's cut tables when `tables`
    are written, else from `core_products`."""
    scope = Scope.of(distributor, run)
    if tables is not None:
        frame = _alternatives_of_tables(scope, choice, limit)
    else:
        cut, cut_params = choice.condition("p")
        categories = {
            c
            for (c,) in _rows(
                f"SELECT DISTINCT p.category FROM {PRODUCTS} p WHERE p.distributor_id = %s AND {cut}",
                [scope.tenant, *cut_params],
            )
            if c
        }
        frame = core_products(distributor=distributor, run=run)
        frame = frame[frame["category"].isin(categories)]
        chosen = (
            frame["supplier_id"].isin(choice.supplier)
            | frame["brand"].isin(choice.brand)
            | frame["product_id"].isin(choice.product)
        )
        frame = frame[~chosen]
    if frame.empty:
        return []
    frame = frame.sort_values(
        ["category", "core_customers", "revenue_units", "product_id"], ascending=[True, False, False, True]
    )
    frame = frame.groupby("category", sort=False).head(limit)
    return [
        {
            "category": r.category,
            "product_id": r.product_id,
            "name": r.name or "",
            "brand": r.brand or "",
            "supplier_id": r.supplier_id or "",
            "core_customers": int(r.core_customers),
            "core_revenue": money(r.revenue_units),
        }
        for r in frame.itertuples(index=False)
    ]


def scenario_list(*, distributor):
    return CutScenario.objects.filter(distributor=distributor).order_by("name")


def compare_scenarios(*, distributor, run, first: CutScenario, second: CutScenario) -> dict:
    """Two saved scenarios on the same published run: their figures side by side and the core
    customers both would hit."""
    a = cut_impact(distributor=distributor, run=run, choice=CutChoice.of_scenario(first), alternatives=0)
    b = cut_impact(distributor=distributor, run=run, choice=CutChoice.of_scenario(second), alternatives=0)
    both = sorted(set(a["core_customers"]) & set(b["core_customers"]))
    names = {c["customer_id"]: c["name"] for c in a["customers"]}
    return {
        "first": a,
        "second": b,
        "both": both,
        "both_named": [coded(customer_id, names.get(customer_id)) for customer_id in both],  # "C1 · Acme"
        "names": (first.name, second.name),
    }


def _distinct_products(distributor, column: str) -> list[str]:
    products = Product.objects.filter(distributor=distributor).exclude(**{column: ""})
    return sorted(products.order_by().values_list(column, flat=True).distinct())


def supplier_choices(*, distributor, run=None) -> list[str]:
    """The tenant's supplier ids (the cut page's picker and the check of a choice; cached with the run)."""
    if run is None:
        return _distinct_products(distributor, "supplier_id")
    return run_cached(
        distributor=distributor,
        run=run,
        name="suppliers",
        compute=lambda: _distinct_products(distributor, "supplier_id"),
    )


def brand_choices(*, distributor, run=None) -> list[str]:
    if run is None:
        return _distinct_products(distributor, "brand")
    return run_cached(
        distributor=distributor, run=run, name="brands", compute=lambda: _distinct_products(distributor, "brand")
    )


# --- core demand -----------------------------------------------------------------------------------


def branch_choices(*, distributor, run=None) -> list[str]:
    """The branches the tenant's lines and inventory name (for the filters; cached with the run)."""
    if run is not None:
        return run_cached(
            distributor=distributor, run=run, name="branches", compute=lambda: branch_choices(distributor=distributor)
        )
    lines = (
        InvoiceLine.objects.filter(distributor=distributor)
        .exclude(branch="")
        .order_by()
        .values_list("branch", flat=True)
    )
    stock = (
        Inventory.objects.filter(distributor=distributor).exclude(branch="").order_by().values_list("branch", flat=True)
    )
    return sorted(set(lines.distinct()) | set(stock.distinct()))


def _lead_times(*, distributor, default: int, branch: str = "") -> pd.DataFrame:
    """Per product pk: its lead time at `branch` (its inventory row there, else its row for every
    branch, as the scarce-stock page reads them), or without a branch its longest over its branches;
    the default where none is given. A product with no row for the branch is left out (the caller's
    default applies)."""
    rows = Inventory.objects.filter(distributor=distributor)
    if branch:
        rows = rows.filter(branch__in=[branch, ""])
    frame = pd.DataFrame(
        list(rows.values_list("product_id", "branch", "lead_time_days")), columns=["product_pk", "branch", "lead"]
    )
    frame["lead"] = frame["lead"].fillna(default).astype(float)
    if branch:  # the branch's own row before the every-branch row
        frame = frame.sort_values("branch", ascending=False, kind="stable").drop_duplicates("product_pk")
        return frame[["product_pk", "lead"]]
    return frame.groupby("product_pk", as_index=False)["lead"].max()


def core_demand_frame(*, distributor, run, dimension: str = "product", branch: str = "") -> pd.DataFrame:
    """Per value of `dimension` (product, category, brand, supplier) in the window, optionally at one
    branch (the lines' branch): revenue by segment, units and order lines (all and core), the core
    share of revenue, how many core customers buy it and how often (orders per core customer), and for
    products the core customers' expected demand over the lead time (their units per day in the window
    times the product's lead time; the tenant's default lead time without inventory).

    As the scarce-stock page counts them: a core customer buys a value when it has a purchase line
    (quantity above 0) of it; its orders are the invoices with one; the demand over the lead time is
    of purchases (a return is stock coming back, not demand), at the branch's lead time when a branch
    is picked. Units, lines and revenue are the window's, returns netted."""
    label, expr = DEMAND_DIMENSIONS[dimension]
    scope = Scope.of(distributor, run)
    base, params = scope.lines_from()
    if branch:
        base += " AND l.branch = %s"
        params = [*params, branch]
    product_pk = ", p.id" if dimension == "product" else ""
    frame = _frame(
        f"SELECT {expr}{product_pk}, s.segment, count(*), {units_sum('l.quantity')}, {units_sum('l.revenue')},"
        " count(DISTINCT CASE WHEN l.quantity > 0 THEN l.customer_id END),"
        " count(DISTINCT CASE WHEN l.quantity > 0 THEN l.invoice_id END),"
        f" {units_sum('CASE WHEN l.quantity > 0 THEN l.quantity ELSE 0 END')}{base}"
        f" GROUP BY {expr}{product_pk}, s.segment",
        params,
        [
            "value",
            *(["product_pk"] if product_pk else []),
            "segment",
            "lines",
            "qty_units",
            "revenue_units",
            "customers",
            "orders",
            "bought_units",
        ],
    )
    if frame.empty:
        return pd.DataFrame()
    keys = ["value", "product_pk"] if product_pk else ["value"]
    frame["value"] = frame["value"].fillna("")
    total = frame.groupby(keys, as_index=False)[["lines", "qty_units", "revenue_units"]].sum()
    core = frame[frame["segment"] == CORE].set_index(keys)[
        ["lines", "qty_units", "revenue_units", "customers", "orders", "bought_units"]
    ]
    core.columns = [f"core_{c}" for c in core.columns]
    out = total.set_index(keys).join(core, how="left").fillna(0)
    pivot = frame.pivot_table(index=keys, columns="segment", values="revenue_units", aggfunc="sum", fill_value=0)
    out = out.join(pivot, how="left").fillna(0).reset_index()
    if product_pk:
        settings = settings_get(distributor=distributor)
        leads = _lead_times(distributor=distributor, default=settings.default_lead_time_days, branch=branch)
        out = out.merge(leads, on="product_pk", how="left")
        out["lead"] = out["lead"].fillna(settings.default_lead_time_days)
        names = pd.DataFrame(
            list(
                Product.objects.filter(distributor=distributor)
                .filter(pk__in=out["product_pk"].tolist())
                .values_list("pk", "name")
            ),
            columns=["product_pk", "name"],
        )
        out = out.merge(names, on="product_pk", how="left")
        out["lead_demand"] = out["core_bought_units"] / UNITS / scope.window_days * out["lead"]
    elif dimension == "supplier":  # named from the partners file, as the profit centers name them
        names = dict(
            partner_list(distributor=distributor)
            .filter(partner_id__in=out["value"].tolist())
            .values_list("partner_id", "name")
        )
        out["name"] = out["value"].map(names)
    # Whole columns: money as exact integer cents (half-even from the units), ratios as floats.
    revenue, core_revenue = out["revenue_units"].astype("int64"), out["core_revenue_units"].astype("int64")
    result = pd.DataFrame(
        {
            "value": out["value"].astype(object),
            "name": out["name"].fillna("").astype(object) if "name" in out else "",
            "revenue": cents_of(revenue),
            "units": (out["qty_units"] / UNITS).round(4),
            "lines": out["lines"].astype("int64"),
            "core_revenue": cents_of(core_revenue),
            "core_units": (out["core_qty_units"] / UNITS).round(4),
            "core_lines": out["core_lines"].astype("int64"),
            "core_share": (core_revenue / revenue.where(revenue > 0)).astype("float64"),
            "core_customers": out["core_customers"].astype("int64"),
            "core_orders": out["core_orders"].astype("int64"),
            "orders_per_core_customer": (
                out["core_orders"] / out["core_customers"].where(out["core_customers"] > 0)
            ).round(2),
            "lead_time_days": out["lead"].astype("int64") if "lead" in out else None,
            "core_lead_time_demand": out["lead_demand"].round(2) if "lead_demand" in out else None,
            **{
                f"revenue_{s}": cents_of(out[s].astype("int64") if s in out else pd.Series(0, index=out.index))
                for s in SEGMENT_ORDER
            },
        }
    )
    result["_order"] = -revenue
    result = result.sort_values(["core_revenue", "_order", "value"], ascending=[False, True, True], kind="stable")
    result = result.drop(columns="_order").reset_index(drop=True)
    result.attrs["cents"] = ["revenue", "core_revenue", *(f"revenue_{s}" for s in SEGMENT_ORDER)]
    return result


def cents_of(units: pd.Series) -> pd.Series:
    """Integer units of 1/10,000 -> integer cents, rounded half-even (exact, whole column)."""
    units = units.astype("int64")
    quotient, remainder = units // 100, units % 100
    up = (remainder > 50) | ((remainder == 50) & (quotient % 2 == 1))
    return (quotient + up.astype("int64")).astype("int64")


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as dicts: NaN as None, its cents columns (`attrs["cents"]`) as Decimal money."""
    cents = set(frame.attrs.get("cents", ()))
    rows = []
    for record in frame.to_dict("records"):
        row = {}
        for key, value in record.items():
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                row[key] = None
            elif key in cents:
                row[key] = Decimal(int(value)).scaleb(-2)
            elif isinstance(value, np.integer):
                row[key] = int(value)
            elif isinstance(value, np.floating):
                row[key] = float(value)
            else:
                row[key] = value
        rows.append(row)
    return rows


def core_demand(*, distributor, run, dimension: str = "product", branch: str = "") -> list[dict]:
    """`core_demand_frame`'s rows as dicts (money as Decimal)."""
    return frame_records(core_demand_frame(distributor=distributor, run=run, dimension=dimension, branch=branch))


# --- scarce stock ----------------------------------------------------------------------------------


def scarce_stock(*, distributor, run) -> tuple[list[dict], list[dict]]:
    """(products, allocation). For each inventory row (product x branch; an empty branch stands for
    every branch's lines), each customer's expected demand over the lead time is its units per day in
    the window (non-return lines, at that branch) times the lead time; a row is scarce when on hand plus
    on order is below the sum. Its stock is then allocated in order: core customers first, then by
    segment order (segments.vocabulary.SEGMENT_ORDER), then by net profit (highest first); each
    customer gets min(its demand, what is left), and the rest of its demand is short."""
    scope = Scope.of(distributor, run)
    default_lead = settings_get(distributor=distributor).default_lead_time_days
    frame = _frame(
        f"SELECT i.id, p.product_id, p.name, i.branch, i.on_hand, i.on_order, i.lead_time_days, c.customer_id,"
        f" c.name, s.segment, s.net_profit, {units_sum('l.quantity')}"
        f" FROM {INVENTORY} i JOIN {PRODUCTS} p ON p.id = i.product_id AND p.distributor_id = %s"
        f" JOIN {LINES} l ON l.distributor_id = %s AND l.product_id = i.product_id"
        " AND (i.branch = '' OR l.branch = i.branch)"
        f" JOIN {SCORES} s ON s.customer_id = l.customer_id AND s.distributor_id = %s AND s.run_id = %s"
        f" JOIN {CUSTOMERS} c ON c.id = l.customer_id AND c.distributor_id = %s"
        " WHERE i.distributor_id = %s AND l.invoice_date >= %s AND l.invoice_date <= %s AND l.quantity > 0"
        " GROUP BY i.id, p.product_id, p.name, i.branch, i.on_hand, i.on_order, i.lead_time_days,"
        " c.customer_id, c.name, s.segment, s.net_profit",
        [scope.tenant, scope.tenant, scope.tenant, scope.run_pk, scope.tenant, scope.tenant, scope.start, scope.end],
        [
            "inventory", "product_id", "product_name", "branch", "on_hand", "on_order", "lead",
            "customer_id", "customer_name", "segment", "net_profit", "qty_units",
        ],
    )  # fmt: skip
    if frame.empty:
        return [], []
    frame["lead"] = frame["lead"].fillna(default_lead).astype(float)
    frame["supply"] = frame["on_hand"].astype(float) + frame["on_order"].astype(float)
    frame["need"] = (frame["qty_units"] / UNITS / scope.window_days * frame["lead"]).round(4)
    demand = frame.groupby("inventory")["need"].transform("sum")
    frame = frame[frame["supply"] < demand - 1e-9].copy()
    if frame.empty:
        return [], []
    frame["rank"] = frame["segment"].map(SEGMENT_RANK).fillna(len(SEGMENT_RANK))
    frame["net_profit"] = frame["net_profit"].fillna(-np.inf)
    frame = frame.sort_values(
        ["product_id", "branch", "rank", "net_profit", "customer_id"], ascending=[True, True, True, False, True]
    )
    before = frame.groupby("inventory")["need"].cumsum() - frame["need"]
    frame["allocated"] = np.minimum(frame["need"], np.maximum(frame["supply"] - before, 0)).round(4)
    frame["short"] = (frame["need"] - frame["allocated"]).round(4)
    frame["position"] = frame.groupby("inventory").cumcount() + 1
    allocation = [
        {
            "product_id": r.product_id,
            "product_name": r.product_name or "",
            "branch": r.branch,
            "position": int(r.position),
            "customer_id": r.customer_id,
            "customer_name": r.customer_name or "",
            "segment": r.segment,
            "net_profit": None if r.net_profit == -np.inf else Decimal(str(r.net_profit)).quantize(CENT),
            "demand": round(float(r.need), 2),
            "allocated": round(float(r.allocated), 2),
            "short": round(float(r.short), 2),
        }
        for r in frame.itertuples(index=False)
    ]
    is_core = frame["segment"] == CORE
    summary = frame.assign(core_need=frame["need"].where(is_core, 0), core_short=frame["short"].where(is_core, 0))
    products = (
        summary.groupby(["inventory", "product_id", "product_name", "branch", "supply", "lead"], dropna=False)
        .agg(
            demand=("need", "sum"),
            core_demand=("core_need", "sum"),
            short=("short", "sum"),
            core_short=("core_short", "sum"),
            customers=("customer_id", "count"),
            core_customers=("core_need", lambda s: int((s > 0).sum())),
        )
        .reset_index()
        .sort_values(["core_short", "short", "product_id"], ascending=[False, False, True])
    )
    product_rows = [
        {
            "product_id": r.product_id,
            "product_name": r.product_name or "",
            "branch": r.branch,
            "supply": round(float(r.supply), 2),
            "lead_time_days": int(r.lead),
            "demand": round(float(r.demand), 2),
            "core_demand": round(float(r.core_demand), 2),
            "short": round(float(r.short), 2),
            "core_short": round(float(r.core_short), 2),
            "customers": int(r.customers),
            "core_customers": int(r.core_customers),
        }
        for r in products.itertuples(index=False)
    ]
    return product_rows, allocation


# --- stock / non-stock -----------------------------------------------------------------------------


def stock_recommendations(*, distributor, run) -> dict[str, list[dict]]:
    """{"to_stock": [...], "to_drop": [...]} with the tenant's thresholds (OperationsSettings).

    To stock: non-stock products (`is_stock` false) that at least `stock_min_core_customers` core
    customers bought in at least `stock_min_orders` core orders in the window; the saving is the
    window's special-order lines of the product (every customer's) times the run's cost per
    special-order line. To drop: stock products (`is_stock` true) that no core customer bought in the
    window and that had at most `drop_max_lines` lines (none counts), with the customers it would affect.
    A product whose stock flag is unknown is in neither list."""
    scope = Scope.of(distributor, run)
    settings = settings_get(distributor=distributor)
    rates = model_settings(run)
    base, params = scope.lines_from()
    core_case = "CASE WHEN s.segment = 'core' THEN {} END"
    to_stock = _frame(
        f"SELECT p.product_id, p.name, p.category, p.supplier_id,"
        f" count(DISTINCT {core_case.format('l.customer_id')}), count(DISTINCT {core_case.format('l.invoice_id')}),"
        " count(DISTINCT l.customer_id), sum(CASE WHEN l.special_order THEN 1 ELSE 0 END),"
        f" {units_sum('l.revenue')}{base} AND p.is_stock = %s"
        " GROUP BY p.product_id, p.name, p.category, p.supplier_id",
        params + [False],
        ["product_id", "name", "category", "supplier_id", "core_customers", "core_orders", "customers",
         "special_lines", "revenue_units"],
    )  # fmt: skip
    to_stock = to_stock[
        (to_stock["core_orders"] >= settings.stock_min_orders)
        & (to_stock["core_customers"] >= max(settings.stock_min_core_customers, 1))
    ].sort_values(["core_orders", "special_lines", "product_id"], ascending=[False, False, True])
    per_special = Decimal(rates.cost_per_special_order)
    stock_rows = [
        {
            "product_id": r.product_id,
            "name": r.name or "",
            "category": r.category or "",
            "supplier_id": r.supplier_id or "",
            "core_customers": int(r.core_customers),
            "core_orders": int(r.core_orders),
            "customers": int(r.customers),
            "special_lines": int(r.special_lines),
            "saving": (int(r.special_lines) * per_special).quantize(CENT),
            "revenue": money(r.revenue_units),
        }
        for r in to_stock.itertuples(index=False)
    ]
    # Stock items: per product, the window's lines (all and core) first, then the products joined to it.
    moved = (
        f"SELECT l.product_id AS product_pk, count(*) AS lines,"
        f" sum(CASE WHEN s.segment = 'core' THEN 1 ELSE 0 END) AS core_lines,"
        f" count(DISTINCT l.customer_id) AS customers, {units_sum('l.revenue')} AS revenue_units{base}"
        " GROUP BY l.product_id"
    )
    drop = _frame(
        f"SELECT p.id, p.product_id, p.name, p.category, p.supplier_id, coalesce(m.lines, 0),"
        f" coalesce(m.core_lines, 0), coalesce(m.customers, 0), coalesce(m.revenue_units, 0)"
        f" FROM {PRODUCTS} p LEFT JOIN ({moved}) m ON m.product_pk = p.id"
        " WHERE p.distributor_id = %s AND p.is_stock = %s",
        params + [scope.tenant, True],
        ["product_pk", "product_id", "name", "category", "supplier_id", "lines", "core_lines", "customers",
         "revenue_units"],
    )  # fmt: skip
    drop = drop[(drop["core_lines"] == 0) & (drop["lines"] <= settings.drop_max_lines)]
    drop = drop.sort_values(["lines", "revenue_units", "product_id"], ascending=[True, True, True])
    affected = _affected_customers(scope=scope, moved=moved, max_lines=settings.drop_max_lines)
    drop_rows = [
        {
            "product_id": r.product_id,
            "name": r.name or "",
            "category": r.category or "",
            "supplier_id": r.supplier_id or "",
            "lines": int(r.lines),
            "customers": int(r.customers),
            "revenue": money(r.revenue_units),
            "affected": affected.get(r.product_pk, ""),
        }
        for r in drop.itertuples(index=False)
    ]
    return {"to_stock": stock_rows, "to_drop": drop_rows}


def _affected_customers(*, scope: Scope, moved: str, max_lines: int, shown: int = 5) -> dict[int, str]:
    """Per stock product no core customer bought, with at most `max_lines` window lines (`moved`: the
    per-product SQL over the window): its customers as "C1 (Segment), C2 (Segment) …" (one statement)."""
    base, params = scope.lines_from()
    join = f" JOIN {CUSTOMERS} c ON c.id = l.customer_id AND c.distributor_id = %s WHERE "
    with_customer = base.replace(" WHERE ", join, 1)
    frame = _frame(
        f"SELECT DISTINCT l.product_id, c.customer_id, s.segment{with_customer} AND p.is_stock = %s"
        f" AND l.product_id IN (SELECT m.product_pk FROM ({moved}) m WHERE m.core_lines = 0 AND m.lines <= %s)",
        [*params[:3], scope.tenant, *params[3:], True, *params, max_lines],
        ["product_pk", "customer_id", "segment"],
    )
    if frame.empty:
        return {}
    frame = frame.sort_values(["product_pk", "customer_id"])
    frame["text"] = frame["customer_id"] + " (" + frame["segment"].map(SEGMENT_LABELS).fillna(frame["segment"]) + ")"
    out = {}
    for pk, names in frame.groupby("product_pk")["text"]:
        names = names.tolist()
        out[pk] = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return out


# --- deliveries and routes -------------------------------------------------------------------------


def _delivery_frame(scope: Scope) -> pd.DataFrame:
    """One row per delivery of the window: a distinct (customer, invoice, ship method) among the
    non-return lines (STRATIFICATION.md's deliveries), from the invoice summaries, with its first date,
    revenue, the customer's branch and segment."""
    return _frame(
        f"SELECT ci.customer_id, c.branch, s.segment, ci.invoice_id, ci.ship_method, min(ci.invoice_date),"
        f" sum(ci.revenue_units) FROM {INVOICES} ci"
        f" JOIN {SCORES} s ON s.customer_id = ci.customer_id AND s.distributor_id = %s AND s.run_id = %s"
        f" JOIN {CUSTOMERS} c ON c.id = ci.customer_id AND c.distributor_id = %s"
        " WHERE ci.distributor_id = %s AND ci.invoice_date >= %s AND ci.invoice_date <= %s AND ci.kept_lines > 0"
        " GROUP BY ci.customer_id, c.branch, s.segment, ci.invoice_id, ci.ship_method",
        [scope.tenant, scope.run_pk, scope.tenant, scope.tenant, scope.start, scope.end],
        ["customer_pk", "branch", "segment", "invoice_id", "ship_method", "day", "revenue_units"],
    )


def _rate_of(rates: ModelSettings):
    table = {str(k): Decimal(v) for k, v in rates.delivery_cost.items()}
    default = Decimal(rates.default_delivery_cost)
    return lambda method: table.get(str(method), default) if method else default


def deliveries_page(*, distributor, run) -> dict:
    """The Deliveries page and API: `deliveries` and the marginal segment's `consolidation`, from one
    read of the window's deliveries."""
    frame = _delivery_frame(Scope.of(distributor, run))
    return {
        **deliveries(distributor=distributor, run=run, frame=frame.copy()),
        "consolidation": consolidation(distributor=distributor, run=run, frame=frame),
    }


def deliveries(*, distributor, run, frame: pd.DataFrame | None = None) -> dict:
    """Per branch (the customer's) and ship method: deliveries, their cost at the run's delivery rates
    and revenue, by segment; and each segment's deliveries per customer per month of the window.
    `frame`: the window's deliveries when the caller read them already."""
    scope = Scope.of(distributor, run)
    frame = _delivery_frame(scope) if frame is None else frame
    rate = _rate_of(model_settings(run))
    if frame.empty:
        return {"rows": [], "frequency": []}
    frame["ship_method"] = frame["ship_method"].fillna("")
    frame["branch"] = frame["branch"].fillna("")
    grouped = (
        frame.groupby(["branch", "ship_method", "segment"])
        .agg(
            deliveries=("invoice_id", "size"),
            customers=("customer_pk", "nunique"),
            revenue_units=("revenue_units", "sum"),
        )
        .reset_index()
    )
    rows = []
    for (branch, method), part in grouped.groupby(["branch", "ship_method"], sort=True):
        row = {"branch": branch, "ship_method": method, "rate": rate(method)}
        total_deliveries, total_units = 0, 0
        for r in part.itertuples(index=False):
            row[f"deliveries_{r.segment}"] = int(r.deliveries)
            row[f"revenue_{r.segment}"] = money(r.revenue_units)
            total_deliveries += int(r.deliveries)
            total_units += int(r.revenue_units)
        row.update(
            deliveries=total_deliveries,
            cost=(total_deliveries * row["rate"]).quantize(CENT),
            revenue=money(total_units),
        )
        for s in SEGMENT_ORDER:
            row.setdefault(f"deliveries_{s}", 0)
            row.setdefault(f"revenue_{s}", Decimal("0.00"))
            row[f"cost_{s}"] = (row[f"deliveries_{s}"] * row["rate"]).quantize(CENT)
        rows.append(row)
    months = scope.window_days / (365.25 / 12)
    per_segment = frame.groupby("segment").agg(deliveries=("invoice_id", "size"), customers=("customer_pk", "nunique"))
    frequency = [
        {
            "segment": s,
            "label": SEGMENT_LABELS[s],
            "customers": int(per_segment.loc[s, "customers"]),
            "deliveries": int(per_segment.loc[s, "deliveries"]),
            "per_customer_month": round(per_segment.loc[s, "deliveries"] / per_segment.loc[s, "customers"] / months, 2),
        }
        for s in SEGMENT_ORDER
        if s in per_segment.index
    ]
    return {"rows": rows, "frequency": frequency}


def consolidation(*, distributor, run, segment: str = "marginal", frame: pd.DataFrame | None = None) -> dict:
    """What consolidating `segment`'s deliveries to at most `max_deliveries_per_week` a week (Monday to
    Sunday, by the delivery's date) would save: each customer-week keeps its most expensive deliveries
    and the others are saved at their ship method's rate."""
    scope = Scope.of(distributor, run)
    limit = max(1, settings_get(distributor=distributor).max_deliveries_per_week)
    rate = _rate_of(model_settings(run))
    frame = _delivery_frame(scope) if frame is None else frame
    frame = frame[frame["segment"] == segment].copy()
    result = {"segment": segment, "label": SEGMENT_LABELS[segment], "per_week": limit, "customers": 0,
              "deliveries": int(len(frame)), "saved_deliveries": 0, "saved_cost": Decimal("0.00")}  # fmt: skip
    if frame.empty:
        return result
    days = pd.to_datetime(frame["day"])
    frame["week"] = (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date
    frame["ship_method"] = frame["ship_method"].fillna("")
    methods = frame["ship_method"].unique()
    rates = {m: rate(m) for m in methods}
    frame["rate"] = frame["ship_method"].map(lambda m: float(rates[m]))
    frame = frame.sort_values(["customer_pk", "week", "rate", "invoice_id"], ascending=[True, True, False, True])
    saved = frame[frame.groupby(["customer_pk", "week"]).cumcount() >= limit]
    counts = saved["ship_method"].value_counts()
    result.update(
        customers=int(saved["customer_pk"].nunique()),
        saved_deliveries=int(len(saved)),
        saved_cost=sum((int(n) * rates[m] for m, n in counts.items()), Decimal(0)).quantize(CENT),
    )
    return result


# --- marketing lists -------------------------------------------------------------------------------


def lookalikes(*, distributor, run, pitch: int = 3) -> list[dict]:
    """The marketing list (docs/guide-manager.md "Marketing lists"; tests/operations/
    test_lookalikes_reference.py computes it naively from this definition).

    Among the customers the run scored, a customer's *group* is its customer class, else its
    supply-chain role (neither: no group, never listed). A customer *bought* a category when it has a
    kept line (quantity >= 0 and revenue >= 0) dated in the run's window whose product has that
    non-empty category. A group's *profile* gives each category the share of the group's core
    customers who bought it (core customers who bought nothing count in the denominator).

    Listed: customers of any segment but core and lapsed, in a group with core customers, whose
    `similarity` — the cosine between their categories (0/1) and the group's profile — is above 0.
    `score` = similarity x (1 - share of wallet / 2) where the share of wallet is known (potential
    given; clipped to [0, 1]), else similarity x 3/4, so a low share of wallet ranks higher. Both
    rounded to 4 decimals; ranked by the score as shown, highest first, then by customer id. `pitch`:
    the group's categories bought by at least half of its core customers that the customer did not
    buy, the most bought first (then by name), at most `pitch` of them."""
    scope = Scope.of(distributor, run)
    customers = _frame(
        f"SELECT c.id, c.customer_id, c.name, c.customer_class, c.supply_chain_role, s.segment, s.share_of_wallet,"
        f" s.revenue FROM {SCORES} s JOIN {CUSTOMERS} c ON c.id = s.customer_id AND c.distributor_id = %s"
        " WHERE s.distributor_id = %s AND s.run_id = %s",
        [scope.tenant, scope.tenant, scope.run_pk],
        ["customer_pk", "customer_id", "name", "customer_class", "role", "segment", "sow", "revenue"],
    )
    if customers.empty:
        return []
    customers["group"] = (
        customers["customer_class"]
        .fillna("")
        .where(customers["customer_class"].fillna("") != "", "role:" + customers["role"].fillna(""))
    )
    customers = customers[customers["group"] != "role:"]
    bought = _window_categories(scope, distributor=distributor)
    bought = bought.merge(customers[["customer_pk", "group", "segment"]], on="customer_pk")
    core_bought = bought[bought["segment"] == CORE]
    core_count = customers[customers["segment"] == CORE].groupby("group").size().rename("core_n")
    if core_count.empty:
        return []
    if core_bought.empty:  # no core customer bought a category in the window: nobody looks like one
        return []
    profile = core_bought.groupby(["group", "category"]).size().rename("n").reset_index()
    profile = profile.merge(core_count, left_on="group", right_index=True)
    profile["weight"] = profile["n"] / profile["core_n"]
    norms = np.sqrt((profile["weight"] ** 2).groupby(profile["group"]).sum()).rename("profile_norm")
    candidates = customers[(customers["segment"] != CORE) & (customers["segment"] != "lapsed")]
    candidates = candidates[candidates["group"].isin(core_count.index)]
    theirs = bought[bought["customer_pk"].isin(candidates["customer_pk"])][["customer_pk", "group", "category"]]
    dot = theirs.merge(profile[["group", "category", "weight"]], on=["group", "category"], how="left").fillna(
        {"weight": 0}
    )
    stats = dot.groupby("customer_pk").agg(dot=("weight", "sum"), bought=("category", "size"))
    out = candidates.merge(stats, left_on="customer_pk", right_index=True, how="left").fillna({"dot": 0, "bought": 0})
    out = out.merge(norms, left_on="group", right_index=True, how="left")
    out["similarity"] = np.where(out["bought"] > 0, out["dot"] / (np.sqrt(out["bought"]) * out["profile_norm"]), 0.0)
    sow = pd.to_numeric(out["sow"], errors="coerce")
    out["score"] = np.where(sow.notna(), out["similarity"] * (1 - sow.clip(0, 1) / 2), out["similarity"] * 0.75)
    # Ranked by the score as shown: equal shown scores by customer id (not by the last bits of floats
    # summed in whatever order the rows came).
    out["shown"] = [round(float(v), 4) for v in out["score"]]  # Python's rounding, as shown (numpy's differs)
    out = out[out["similarity"] > 0].sort_values(["shown", "customer_id"], ascending=[False, True])
    # Categories to pitch: the group's core categories (weight >= 0.5) the customer does not buy.
    strong = profile[profile["weight"] >= 0.5].sort_values(
        ["group", "weight", "category"], ascending=[True, False, True]
    )
    owned = set(zip(theirs["customer_pk"], theirs["category"], strict=True))
    strong_by_group = {
        g: list(zip(part["category"], part["weight"], strict=True)) for g, part in strong.groupby("group")
    }
    rows = []
    for r in out.itertuples(index=False):
        pitches = [c for c, _ in strong_by_group.get(r.group, []) if (r.customer_pk, c) not in owned][:pitch]
        rows.append(
            {
                "customer_id": r.customer_id,
                "name": r.name or "",
                "segment": r.segment,
                "group": r.group.removeprefix("role:"),
                "similarity": round(float(r.similarity), 4),
                "share_of_wallet": None if pd.isna(r.sow) else float(r.sow),
                "score": float(r.shown),
                "pitch": ", ".join(pitches),
            }
        )
    return rows


def _window_categories(scope: Scope, *, distributor) -> pd.DataFrame:
    """(customer pk, category) once per category a customer bought in the run's window (a kept line of
    a product with a non-empty category). From the summaries (`CustomerCategory`: the last kept date
    per customer and category) when no line is dated after the window's end, as `segments.aggregates`
    does: a category then has a kept line in the window exactly when its last one falls in it.
    Otherwise (a run as of an earlier date) from the window's lines."""
    latest = latest_invoice_date(distributor=distributor)
    if latest is None or latest <= scope.end:
        return _frame(
            f"SELECT cc.customer_id, cc.category FROM {CATEGORIES} cc WHERE cc.distributor_id = %s"
            " AND cc.last_kept >= %s",
            [scope.tenant, scope.start],
            ["customer_pk", "category"],
        )
    return _frame(
        f"SELECT DISTINCT l.customer_id, p.category FROM {LINES} l"
        f" JOIN {PRODUCTS} p ON p.id = l.product_id AND p.distributor_id = %s"
        " WHERE l.distributor_id = %s AND l.invoice_date >= %s AND l.invoice_date <= %s"
        " AND l.quantity >= 0 AND l.revenue >= 0 AND p.category <> ''",
        [scope.tenant, scope.tenant, scope.start, scope.end],
        ["customer_pk", "category"],
    )
