"""The supply chain and distribution channel map (issue 14): how a window's revenue flows
suppliers -> the distributor's branches -> routes to market -> customer categories.

Computed over whole columns: one SQL `GROUP BY` reads the window's lines per (customer, supplier,
branch, partner, channel, ship method) with exact money sums (integer units of 1/10,000) and each
line's share of its order and delivery (for the cost-to-serve); pandas then groups that table per
node and per link. Nothing here knows segments: the caller (insights) hands in the window and each
active customer's segment (`segments`: customer pk -> segment), so `channels` stays below `segments`.

Rules (written once, here, and in docs/API.md):
* A line flows along exactly one path: its product's supplier, its branch, its route (its partner
  when it has one, else its channel), its customer's category (class or supply-chain role). Hence at
  every branch and route node revenue in = revenue out, and the links entering the categories add up
  to the window revenue of the active customers, to the cent. An empty value is the node `(none)`.
* Net profit follows the profit centers' cost-to-serve rules (docs PROFIT_CENTERS.md: per line,
  return, special order, carrying receivables, the line's share of its order and of its delivery).
  The two shares are sums of 1/k, read as floating point: net profit is exact to well under a cent
  per flow, then rounded to the cent; revenue, lines and customers are exact.
* Small nodes are grouped: per column, the `limit` biggest nodes by revenue are kept (and `(none)`),
  the rest become one "Other ..." node of that column, so the drawing stays readable; the sums and the
  conservation are unchanged.
* A column that holds only `(none)` (no product has a supplier; no line has a channel or partner) is
  left out, with a note of what data would enrich the map; the categories column is always there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection

from sales.models import Customer, InvoiceLine, Product
from sales.summaries import UNITS
from stratify.db import is_postgres
from stratify.engine import ModelSettings
from stratify.formatting import money_decimal

from .models import Interaction, Partner
from .vocabulary import route_label

NONE = "(none)"
BY_CHOICES = ("customer_class", "supply_chain_role")
WEIGHT_CHOICES = ("revenue", "net_profit", "lines", "customers")
COLUMNS = ("supplier", "branch", "route", "customer_group")  # node kinds, left to right
COLUMN_LABELS = {
    "supplier": "Suppliers",
    "branch": "Branches",
    "route": "Routes to market",
    "customer_group": "Customer categories",
}
DEFAULT_LIMIT = 12
ENRICH = {
    "supplier": "No product of the window has a supplier: import products' supplier_id (and the suppliers "
    "as partners of kind supplier) to draw the suppliers column.",
    "route": "No line of the window has a channel or a partner: import the lines' channel and partner_id to "
    "draw the routes to market.",
    "branch": "No line of the window has a branch: import the lines' branch.",
}
ROLE_LABELS = dict(Customer.SupplyChainRole.choices)


def unknown_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """The 400 message for a value of `name` outside `allowed` (None when allowed)."""
    if value in allowed:
        return None
    return f"Unknown {name} {value!r}: use one of {', '.join(allowed)}."


@dataclass
class Flows:
    """The window's lines grouped per customer and path (one row per customer, supplier, branch,
    route, ship method), with the customer's segment and categories; and its interactions."""

    frame: pd.DataFrame
    interactions: pd.DataFrame
    partners: dict[str, dict]  # partner_id -> {"name", "kind"}
    # Per active customer with lines: cost_<activity> (ACTIVITIES), revenue_units, segment, class, role.
    customers: pd.DataFrame | None = None


_FRAME_COLUMNS = [
    "cpk",
    "supplier",
    "branch",
    "partner",
    "channel",
    "ship",
    "lines",
    "returns",
    "special",
    "revenue_units",
    "cost_units",
    "ar_units",
    "order_share",
    "delivery_share",
]


def _units(expr: str) -> str:
    if is_postgres():
        return f"CAST({expr} * {UNITS} AS bigint)"
    return f"CAST(round({expr} * {UNITS}) AS INTEGER)"


def _flows_sql() -> str:
    lines, products, partners = InvoiceLine._meta.db_table, Product._meta.db_table, Partner._meta.db_table
    is_return = "(l.quantity < 0 OR l.revenue < 0)"
    special = "l.special_order" if is_postgres() else "l.special_order = 1"
    return f"""
        WITH l AS (
            SELECT l.customer_id AS cpk, l.invoice_id, coalesce(l.ship_method, '') AS ship, l.product_id,
                   coalesce(l.branch, '') AS branch, coalesce(l.channel, '') AS channel, l.partner_id,
                   CASE WHEN {is_return} THEN 1 ELSE 0 END AS ret,
                   CASE WHEN {special} THEN 1 ELSE 0 END AS special,
                   {_units("l.revenue")} AS revenue_units, {_units("l.cost")} AS cost_units,
                   coalesce({_units("l.revenue")} * l.days_to_pay, 0) AS ar_units
            FROM {lines} l
            WHERE l.distributor_id = %(distributor)s AND l.invoice_date >= %(window_start)s
              AND l.invoice_date <= %(as_of)s
        ),
        w AS (
            SELECT l.*,
                   CASE WHEN ret = 0 THEN 1.0 / sum(1 - ret) OVER (PARTITION BY cpk, invoice_id) END AS order_share,
                   CASE WHEN ret = 0 THEN 1.0 / sum(1 - ret) OVER (PARTITION BY cpk, invoice_id, ship) END
                       AS delivery_share
            FROM l
        )
        SELECT w.cpk, coalesce(p.supplier_id, ''), w.branch, coalesce(pa.partner_id, ''), w.channel, w.ship,
               count(*), sum(w.ret), sum(w.special), sum(w.revenue_units), sum(w.cost_units), sum(w.ar_units),
               coalesce(sum(w.order_share), 0), coalesce(sum(w.delivery_share), 0)
        FROM w
        JOIN {products} p ON p.id = w.product_id AND p.distributor_id = %(distributor)s
        LEFT JOIN {partners} pa ON pa.id = w.partner_id AND pa.distributor_id = %(distributor)s
        GROUP BY w.cpk, coalesce(p.supplier_id, ''), w.branch, coalesce(pa.partner_id, ''), w.channel, w.ship"""


def window_start(as_of: date, window_days: int) -> date:
    """The first day of the window ending `as_of` (the run's rule: `window_days` days, as_of included)."""
    return as_of - timedelta(days=int(window_days) - 1)


def read_flows(
    *, distributor, as_of: date, window_days: int, segments: dict[int, str], settings: ModelSettings
) -> Flows:
    """The grouped table every figure of the map is computed from. `segments`: customer pk -> segment
    of every active customer (others' lines are left out); `settings`: the run's cost-to-serve rates."""
    params = {"distributor": distributor.pk, "as_of": as_of, "window_start": window_start(as_of, window_days)}
    with connection.cursor() as cursor:
        cursor.execute(_flows_sql(), params)
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=_FRAME_COLUMNS)
    for column in ("cpk", "lines", "returns", "special", "revenue_units", "cost_units", "ar_units"):
        frame[column] = frame[column].astype("int64")
    for column in ("order_share", "delivery_share"):
        frame[column] = frame[column].astype("float64")
    for column in ("supplier", "branch", "partner", "channel", "ship"):
        frame[column] = frame[column].astype(object).fillna("")
    seg = pd.Series(segments, name="segment", dtype=object)
    seg.index = seg.index.astype("int64")
    frame = frame.join(seg, on="cpk", how="inner")
    customers = pd.DataFrame.from_records(
        list(Customer.objects.filter(distributor=distributor).values_list("pk", "customer_class", "supply_chain_role")),
        columns=["cpk", "customer_class", "supply_chain_role"],
    ).set_index("cpk")
    frame = frame.join(customers, on="cpk", how="left")
    frame["customer_class"] = frame["customer_class"].fillna("")
    frame["supply_chain_role"] = frame["supply_chain_role"].fillna("")
    costs = _activity_costs(frame, settings)
    frame = pd.concat([frame, costs], axis=1)
    frame["cost_float"] = costs.sum(axis=1) if not frame.empty else pd.Series(dtype="float64")
    # A line's route: its partner when it has one, else its channel, else "" (shown `(none)`).
    has_partner, has_channel = frame["partner"] != "", frame["channel"] != ""
    frame["route"] = np.where(
        has_partner, "partner:" + frame["partner"], np.where(has_channel, "channel:" + frame["channel"], "")
    )
    # Per customer: its cost-to-serve by activity and revenue (the customer definitions' cost table),
    # then the flows kept compact for the per-run cache: text columns as categories, the per-activity
    # costs and their inputs dropped (their sum, `cost_float`, stays).
    activity_columns = [f"cost_{a}" for a in ACTIVITIES]
    per_customer = frame.groupby("cpk", sort=False)[[*activity_columns, "revenue_units"]].sum()
    per_customer = per_customer.join(seg).join(customers)
    per_customer["customer_class"] = per_customer["customer_class"].fillna("")
    per_customer["supply_chain_role"] = per_customer["supply_chain_role"].fillna("")
    frame = frame.drop(columns=[*activity_columns, "returns", "special", "ar_units", "delivery_share"])
    frame = compact(frame.reset_index(drop=True))
    per_customer = compact(per_customer)

    interactions = pd.DataFrame.from_records(
        list(
            Interaction.objects.filter(
                distributor=distributor, date__gte=window_start(as_of, window_days), date__lte=as_of
            )
            .values_list("customer_id", "kind", "channel", "opportunity")
            .order_by()
        ),
        columns=["cpk", "kind", "channel", "opportunity"],
    )
    if not interactions.empty:
        interactions = interactions.join(seg, on="cpk", how="inner").join(customers, on="cpk", how="left")
        interactions["channel"] = interactions["channel"].fillna("")
        for column in ("customer_class", "supply_chain_role"):
            interactions[column] = interactions[column].fillna("")
    else:
        interactions = pd.DataFrame(columns=["cpk", "kind", "channel", "opportunity", "segment", *customers.columns])
    partners = {
        pid: {"name": name, "kind": kind}
        for pid, name, kind in Partner.objects.filter(distributor=distributor).values_list("partner_id", "name", "kind")
    }
    return Flows(frame=frame, interactions=interactions, partners=partners, customers=per_customer)


TEXT_COLUMNS = (
    "supplier",
    "branch",
    "partner",
    "channel",
    "ship",
    "route",
    "segment",
    "customer_class",
    "supply_chain_role",
)


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as categories (a few bytes a row instead of a string object): what the per-run
    cache stores. `plain` turns them back before grouping."""
    columns = {c: "category" for c in TEXT_COLUMNS if c in frame.columns}
    if "lines" in frame.columns:
        columns["lines"] = "int32"
    if "cpk" in frame.columns and (frame.empty or int(frame["cpk"].max()) < 2**31):
        columns["cpk"] = "int32"
    return frame.astype(columns)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with its category columns as plain text (for `where`, `groupby`...)."""
    columns = {c: object for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    return frame.astype(columns) if columns else frame.copy()


ACTIVITIES = {
    "lines": "Order lines",
    "returns": "Returns",
    "special_orders": "Special orders",
    "carrying": "Carrying receivables",
    "orders": "Orders",
    "deliveries": "Deliveries",
}


def _activity_costs(frame: pd.DataFrame, settings: ModelSettings) -> pd.DataFrame:
    """Each row's cost-to-serve by activity (profit centers' rules), in currency, as floats over
    whole columns: `cost_<activity>` for each of ACTIVITIES."""
    rates = {str(k): float(v) for k, v in settings.delivery_cost.items()}
    default_rate = float(settings.default_delivery_cost)
    ship_rate = frame["ship"].map(lambda s: rates.get(str(s), default_rate) if s else default_rate).astype("float64")
    return pd.DataFrame(
        {
            "cost_lines": frame["lines"] * float(settings.cost_per_line),
            "cost_returns": frame["returns"] * float(settings.cost_per_return),
            "cost_special_orders": frame["special"] * float(settings.cost_per_special_order),
            "cost_carrying": frame["ar_units"] * (float(settings.ar_carrying_rate) / 365 / UNITS),
            "cost_orders": frame["order_share"] * float(settings.cost_per_order),
            "cost_deliveries": frame["delivery_share"] * ship_rate,
        },
        index=frame.index,
    ).astype("float64")


def money(units: int) -> Decimal:
    """Integer units of 1/10,000 as an exact Decimal."""
    return Decimal(int(units)) / UNITS


def net_profit(gm_units: int, cost: float) -> Decimal:
    return money_decimal(money(gm_units) - Decimal(repr(float(cost))))


def filter_flows(flows: Flows, *, branch: str | None = None, segment: str | None = None, customer_class=None) -> Flows:
    """The flows of one branch (lines of that branch), segment and customer class (None: all; "" is
    the empty value)."""
    frame, inter = flows.frame, flows.interactions
    if branch is not None:
        frame = frame[frame["branch"] == branch]
    if segment is not None:
        frame = frame[frame["segment"] == segment]
        inter = inter[inter["segment"] == segment]
    if customer_class is not None:
        frame = frame[frame["customer_class"] == customer_class]
        inter = inter[inter["customer_class"] == customer_class]
    if branch is not None:
        inter = inter[inter["cpk"].isin(frame["cpk"].unique())]
    return Flows(frame=frame, interactions=inter, partners=flows.partners, customers=flows.customers)


def node_id(kind: str, value: str) -> str:
    """A node's id: its column and value (`(none)` for the empty value, `other` for the grouped ones)."""
    if value == "__other__":
        return f"{kind}:other"
    return f"{kind}:{value or NONE}"


def _label(kind: str, value: str, by: str, partners: dict) -> tuple[str, dict]:
    """A node's label and its extra attributes."""
    if value == "":
        return NONE, {}
    if kind == "supplier":
        partner = partners.get(value)
        return (partner["name"] or value if partner else value), {"partner_id": value if partner else None}
    if kind == "route":
        route_kind, _, name = value.partition(":")
        if route_kind == "partner":
            partner = partners.get(name, {})
            return partner.get("name") or name, {
                "route_kind": "partner",
                "partner_id": name,
                "partner_kind": partner.get("kind") or "",
            }
        return route_label(name), {"route_kind": "channel", "channel": name}
    if kind == "customer_group" and by == "supply_chain_role":
        return ROLE_LABELS.get(value, value), {"value": value}
    if kind == "customer_group":
        return value, {"value": value}
    return value, {}


def _shares(counts: pd.Series) -> dict[str, float]:
    """{value (NONE for empty): share} of a count series, largest first, rounded to 4 places."""
    total = counts.sum()
    if total <= 0:
        return {}
    counts = counts.sort_values(ascending=False)
    return {(k if k != "" else NONE): round(float(v) / float(total), 4) for k, v in counts.items() if v}


def leading(shares: dict[str, float]) -> list | None:
    """The leading value of `_shares` and its share, or None when no line has a value at all (only
    `(none)`): "via (none) 100%" says nothing, and the page says "—" instead."""
    if not shares or list(shares) == [NONE]:
        return None
    return list(next(iter(shares.items())))


def _figures(group: pd.DataFrame, core_segment: str) -> dict:
    revenue_units = int(group["revenue_units"].sum())
    gm_units = revenue_units - int(group["cost_units"].sum())
    core_units = int(group.loc[group["segment"] == core_segment, "revenue_units"].sum())
    return {
        "revenue": money_decimal(money(revenue_units)),
        "revenue_units": revenue_units,
        "net_profit": net_profit(gm_units, float(group["cost_float"].sum())),
        "lines": int(group["lines"].sum()),
        "customers": int(group["cpk"].nunique()),
        "core_share": round(core_units / revenue_units, 4) if revenue_units > 0 else None,
        "ship_methods": _shares(group.groupby("ship")["lines"].sum()),
    }


def build_map(
    flows: Flows,
    *,
    by: str = "customer_class",
    weight: str = "revenue",
    limit: int = DEFAULT_LIMIT,
    core_segment: str = "core",
) -> dict:
    """The map's nodes and links (see the module doc). Money as exact Decimals (to the cent)."""
    frame = plain(flows.frame)
    frame["customer_group"] = frame[by]
    notes = []
    columns = []
    for kind in COLUMNS:
        values = frame[kind].unique() if not frame.empty else []
        if kind != "customer_group" and kind != "branch" and all(v == "" for v in values):
            notes.append(ENRICH[kind])
            continue
        if kind == "branch" and all(v == "" for v in values) and len(values):
            notes.append(ENRICH["branch"])
        columns.append(kind)
    # Group the small nodes of each column into one "other" node.
    for kind in columns:
        totals = frame.groupby(kind)["revenue_units"].sum().sort_values(ascending=False)
        if len(totals) > limit + 1:
            keep = set(totals.index[:limit]) | {""}
            frame[kind] = frame[kind].where(frame[kind].isin(keep), "__other__")
    nodes = []
    for depth, kind in enumerate(columns):
        for value, group in frame.groupby(kind, sort=False):
            if value == "__other__":
                label, extra = f"Other {COLUMN_LABELS[kind].lower()}", {"other": True}
            else:
                label, extra = _label(kind, value, by, flows.partners)
            node = {"id": node_id(kind, value), "label": label, "kind": kind, "depth": depth, **extra}
            node.update(_figures(group, core_segment))
            if kind == "customer_group":
                node.update(_buying(group, flows.interactions, flows.partners, by, value))
            nodes.append(node)
    nodes.sort(key=lambda n: (n["depth"], -n["revenue_units"], n["label"]))
    links = []
    for left, right in zip(columns, columns[1:], strict=False):
        for (source, target), group in frame.groupby([left, right], sort=False):
            link = {"source": node_id(left, source), "target": node_id(right, target)}
            link.update(_figures(group, core_segment))
            links.append(link)
    links.sort(key=lambda link: (link["source"], -link["revenue_units"], link["target"]))
    for item in (*nodes, *links):
        item["value"] = _weight_value(item, weight)
        item["below_zero"] = _below_zero(item, weight)
    if frame.empty:
        notes.append("No active customer bought in the window: nothing flows yet.")
    total_units = int(frame["revenue_units"].sum()) if not frame.empty else 0
    return {
        "by": by,
        "weight": weight,
        "columns": [{"kind": k, "label": COLUMN_LABELS[k]} for k in columns],
        "nodes": nodes,
        "links": links,
        "revenue": money_decimal(money(total_units)),
        "notes": notes,
        "left_out": left_out(links, columns, weight),
    }


def _weight_value(item: dict, weight: str) -> float:
    """What the drawing sizes a node or link by: the weight's figure (net profit and revenue below
    zero are drawn as a hairline: a Sankey cannot draw a negative flow; `below_zero` marks them and
    `left_out` counts them, the figures themselves stay signed)."""
    value = item[weight]
    return max(float(value), 0.0) if value is not None else 0.0


def _below_zero(item: dict, weight: str) -> bool:
    value = item[weight]
    return value is not None and value < 0


def left_out(links: list[dict], columns: list[str], weight: str) -> list[dict]:
    """Per pair of adjacent columns, the flows whose weight is below zero (a loss with net profit,
    returns above sales with revenue), which the drawing cannot draw to scale: how many, and their
    sum (exact Decimal, signed). Each line crosses every pair once, so each pair's sum is the
    window's figure over its own flows; the pairs are not added together (that would count a line
    three times). Empty for lines and customers, which are never below zero."""
    out = []
    for left, right in zip(columns, columns[1:], strict=False):
        pair = [
            link for link in links if link["source"].startswith(f"{left}:") and link["target"].startswith(f"{right}:")
        ]
        below = [link for link in pair if link["below_zero"]]
        if below:
            out.append(
                {
                    "source": left,
                    "target": right,
                    "label": f"{COLUMN_LABELS[left]} → {COLUMN_LABELS[right].lower()}",
                    "flows": len(below),
                    "of": len(pair),
                    "amount": sum((link[weight] for link in below), Decimal(0)),
                }
            )
    return out


def _buying(group: pd.DataFrame, interactions: pd.DataFrame, partners: dict, by: str, value: str) -> dict:
    """A category's preferred way of buying (leading channel and ship method, with shares of its
    lines) and its interaction points (counts by kind and channel, the share that flagged an
    opportunity)."""
    channels = _shares(group.groupby("channel")["lines"].sum())
    ships = _shares(group.groupby("ship")["lines"].sum())
    partner_kinds = group[group["partner"] != ""]
    kinds = partner_kinds.groupby(
        partner_kinds["partner"].map(lambda p: (partners.get(p) or {}).get("kind") or "other")
    )
    total_lines = int(group["lines"].sum())
    through = {
        k: round(int(n) / total_lines, 4)
        for k, n in kinds["lines"].sum().sort_values(ascending=False).items()
        if total_lines
    }
    mine = interactions[interactions[by] == value] if not interactions.empty else interactions
    count = len(mine)
    return {
        "channels": channels,
        "preferred_channel": leading(channels),
        "preferred_ship_method": leading(ships),
        "partner_lines_share": round(int(partner_kinds["lines"].sum()) / total_lines, 4) if total_lines else None,
        # Shares of the category's lines that went through a partner, by the partner's kind.
        "through_partners": through,
        "interactions": {
            "count": count,
            "by_kind": {k: int(v) for k, v in mine.groupby("kind").size().sort_values(ascending=False).items()}
            if count
            else {},
            "by_channel": {
                (k or NONE): int(v) for k, v in mine.groupby("channel").size().sort_values(ascending=False).items()
            }
            if count
            else {},
            "opportunity_share": round(float(mine["opportunity"].astype(bool).mean()), 4) if count else None,
        },
    }
