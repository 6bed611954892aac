"""Customer definitions (issue 14, item 3): one page per customer category (customer class or
supply-chain role) answering Hitt's questions from the data, side by side on an index. Read side:
everything comes from the run's cached flows (`insights.channel_map.flows_for`: the window's lines
per customer and path, with cost-to-serve by activity) plus a few GROUP BY queries over customers,
interactions and product replacement cycles; the result is cached per run.

Choices (where the issue is silent):
* A category's customers are the run's active (not lapsed) customers of that class or role.
* Reasons for purchase are the customers' imported `reasons_for_purchase`, split on ";" (tags) and
  counted once per customer; free text without ";" counts as one tag.
* Order size = revenue / orders; frequency = orders per customer over the window (orders: invoices
  with a non-return line, as the run counts them).
* Cost-to-serve by activity is per 1,000 of revenue: the category's total against the median of the
  core segment's customers (each customer's own cost per 1,000; customers with revenue > 0).
* A customer is due for a product with a replacement cycle when its last purchase of it plus the
  cycle falls within 30 days after the window's end (or before it).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
from django.db.models import Max
from django.urls import reverse

from channels import channel_map as cm
from sales.models import Customer, InvoiceLine
from segments.selectors import run_window
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER
from stratify.formatting import money_decimal

from .caching import run_cached
from .channel_map import flows_for

DUE_WITHIN_DAYS = 30
TOP = 8
CORE = "core"


def unknown_by(by: str | None) -> str | None:
    return cm.unknown_choice("by", by, cm.BY_CHOICES)


def category_label(by: str, value: str) -> str:
    if value == "":
        return cm.NONE
    return cm.ROLE_LABELS.get(value, value) if by == "supply_chain_role" else value


def _per_thousand(cost: float, revenue_units: int) -> float | None:
    return round(cost * 1000 * cm.UNITS / revenue_units, 2) if revenue_units > 0 else None


def _core_medians(customers) -> dict[str, float | None]:
    """Per activity: the median over the core customers of their cost per 1,000 of revenue."""
    per_customer = customers[(customers["segment"] == CORE) & (customers["revenue_units"] > 0)]
    out = {}
    for activity in cm.ACTIVITIES:
        if per_customer.empty:
            out[activity] = None
            continue
        ratio = per_customer[f"cost_{activity}"] * 1000 * cm.UNITS / per_customer["revenue_units"]
        out[activity] = round(float(ratio.median()), 2)
    return out


def cost_rows(mine: dict, core_median: dict) -> list[tuple]:
    """ "Where cost could be cut": per activity (label, this category's cost per 1,000 of revenue, the
    core median's, whether this category's is higher). A figure of 0 is a figure (a core median of 0
    with a cost above it is the clearest case to flag); only a missing one (None) is not compared."""
    rows = []
    for key, label in cm.ACTIVITIES.items():
        a, b = mine.get(key), core_median.get(key)
        rows.append((label, a, b, a is not None and b is not None and a > b))
    return rows


def _money(units: int) -> Decimal:
    return money_decimal(cm.money(units))


def _summary(by: str, value: str, group, costs, total_units: int) -> dict:
    """A category's figures: `group` its rows of the flows, `costs` its customers' activity costs."""
    revenue_units = int(group["revenue_units"].sum())
    orders = float(group["order_share"].sum())
    customers = int(group["cpk"].nunique())
    seg_rev = group.groupby("segment")["revenue_units"].sum()
    seg_count = group.groupby("segment")["cpk"].nunique()
    return {
        "by": by,
        "value": value,
        "key": value or cm.NONE,
        "label": category_label(by, value),
        "customers": customers,
        "revenue": _money(revenue_units),
        "revenue_share": round(revenue_units / total_units, 4) if total_units > 0 else None,
        "net_profit": cm.net_profit(revenue_units - int(group["cost_units"].sum()), float(group["cost_float"].sum())),
        "lines": int(group["lines"].sum()),
        "orders": round(orders),
        "order_size": _money(round(revenue_units / orders)) if orders else None,
        "orders_per_customer": round(orders / customers, 1) if customers else None,
        "segments": [
            {
                "segment": s,
                "label": SEGMENT_LABELS[s],
                "customers": int(seg_count.get(s, 0)),
                "revenue_share": round(int(seg_rev.get(s, 0)) / revenue_units, 4) if revenue_units > 0 else None,
            }
            for s in SEGMENT_ORDER
            if s in seg_count.index
        ],
        "channels": (channels := cm._shares(group.groupby("channel")["lines"].sum())),
        "ship_methods": (ships := cm._shares(group.groupby("ship")["lines"].sum())),
        # The leading ones ([value, share]), None when no line has one ("—" rather than "(none) 100%").
        "leading_channel": cm.leading(channels),
        "leading_ship_method": cm.leading(ships),
        "cost_per_thousand": {a: _per_thousand(float(costs[f"cost_{a}"].sum()), revenue_units) for a in cm.ACTIVITIES},
    }


def overview(*, distributor, run, by: str) -> dict:
    """Every category of `by` side by side (cached per run)."""

    def compute():
        flows = flows_for(distributor=distributor, run=run)
        frame, customers = cm.plain(flows.frame), cm.plain(flows.customers)
        total = int(frame["revenue_units"].sum()) if not frame.empty else 0
        costs = dict(list(customers.groupby(by, sort=False))) if not customers.empty else {}
        rows = [_summary(by, value, group, costs[value], total) for value, group in frame.groupby(by, sort=False)]
        rows.sort(key=lambda r: (-r["revenue"], r["label"]))
        return {
            "by": by,
            "rows": rows,
            "core_median": _core_medians(customers) if not customers.empty else dict.fromkeys(cm.ACTIVITIES),
        }

    return run_cached(distributor, run, f"definitions:v2:{by}", compute)


def definition(*, distributor, run, by: str, value: str) -> dict | None:
    """One category's answers (None when no active customer of the run is in it); cached per run."""

    def compute():
        flows = flows_for(distributor=distributor, run=run)
        frame = flows.frame
        group = cm.plain(frame[frame[by] == value]) if not frame.empty else frame
        if group.empty:
            return None
        total = int(frame["revenue_units"].sum())
        customers_costs = flows.customers[flows.customers[by] == value]
        data = _summary(by, value, group, customers_costs, total)
        cpks = [int(c) for c in group["cpk"].unique()]
        customers = Customer.objects.filter(distributor=distributor, **{by: value})
        # The category's active customers: their place in the supply chain and their reasons for purchase.
        other = "supply_chain_role" if by == "customer_class" else "customer_class"
        people = pd.DataFrame.from_records(
            list(customers.values_list("pk", other, "reasons_for_purchase").order_by()),
            columns=["cpk", "other", "reasons"],
        )
        people = people[people["cpk"].isin(set(cpks))]
        placement = people["other"].fillna("").value_counts()
        data["placement"] = {
            "by": other,
            "counts": [(category_label(other, v), int(n)) for v, n in placement.head(TOP).items()],
        }
        tags = people.assign(tag=people["reasons"].fillna("").str.split(";")).explode("tag")
        tags["tag"] = tags["tag"].str.strip()
        tags = tags[tags["tag"] != ""].drop_duplicates(["cpk", "tag"])  # a tag counts once per customer
        counted = tags["tag"].value_counts()
        data["reasons"] = sorted(((t, int(n)) for t, n in counted.items()), key=lambda x: (-x[1], x[0]))[: TOP * 2]
        partners = group[group["partner"] != ""].groupby("partner")["lines"].sum().sort_values(ascending=False)
        data["partners"] = [
            {
                "partner_id": pid,
                "name": (flows.partners.get(pid) or {}).get("name") or pid,
                "kind": (flows.partners.get(pid) or {}).get("kind") or "",
                "share": round(int(n) / data["lines"], 4) if data["lines"] else None,
            }
            for pid, n in partners.head(TOP).items()
        ]
        reps = pd.DataFrame.from_records(
            list(customers.filter(rep__isnull=False).values_list("pk", "rep__rep_id", "rep__name").order_by()),
            columns=["cpk", "rep_id", "name"],
        )
        reps = reps[reps["cpk"].isin(set(cpks))]
        reps = reps.groupby(["rep_id", "name"]).size().reset_index(name="n")
        reps = reps.sort_values(["n", "rep_id"], ascending=[False, True]).head(TOP)
        data["reps"] = [{"rep_id": r.rep_id, "name": r.name, "customers": int(r.n)} for r in reps.itertuples()]
        inter = flows.interactions
        mine = inter[inter[by] == value] if not inter.empty else inter
        data["interactions"] = {
            "count": len(mine),
            "by_kind": {k: int(n) for k, n in mine.groupby("kind").size().sort_values(ascending=False).items()}
            if len(mine)
            else {},
            "opportunity_share": round(float(mine["opportunity"].astype(bool).mean()), 4) if len(mine) else None,
        }
        data["replacement"] = _replacement(distributor=distributor, run=run, by=by, value=value, cpks=cpks)
        return data

    return run_cached(distributor, run, f"definition:v2:{by}:{value}", compute)


def _replacement(*, distributor, run, by: str, value: str, cpks: list[int]) -> list[dict]:
    """Products with a replacement cycle the category's active customers buy, with how many of them
    are due (last purchase + cycle <= the window's end + DUE_WITHIN_DAYS)."""
    window = run_window(run)
    due_by = window.as_of + timedelta(days=DUE_WITHIN_DAYS)
    # The last kept (non-return) line of each (customer, product with a cycle): few products have a
    # cycle, and the lines' product index reads just theirs.
    rows = list(
        InvoiceLine.objects.filter(
            distributor=distributor,
            product__replacement_cycle_days__gt=0,
            quantity__gte=0,
            revenue__gte=0,
            **{f"customer__{by}": value},
        )
        .values("customer_id", "product__product_id", "product__name", "product__replacement_cycle_days")
        .annotate(last_kept=Max("invoice_date"))
        .values_list(
            "customer_id", "last_kept", "product__product_id", "product__name", "product__replacement_cycle_days"
        )
        .order_by()
    )
    if not rows:
        return []
    frame = pd.DataFrame.from_records(rows, columns=["cpk", "last_kept", "product_id", "name", "cycle"])
    frame = frame[frame["cpk"].isin(set(cpks))]
    if frame.empty:
        return []
    due_dates = pd.to_datetime(frame["last_kept"]) + pd.to_timedelta(frame["cycle"].astype("int64"), unit="D")
    frame["due"] = due_dates <= pd.Timestamp(due_by)
    grouped = frame.groupby(["product_id", "name", "cycle"]).agg(customers=("cpk", "nunique"), due=("due", "sum"))
    grouped = grouped.reset_index().sort_values(["due", "customers", "product_id"], ascending=[False, False, True])
    return [
        {
            "product_id": r.product_id,
            "name": r.name,
            "cycle_days": int(r.cycle),
            "customers": int(r.customers),
            "due": int(r.due),
        }
        for r in grouped.head(TOP * 2).itertuples()
    ]


def customers_url(tenant_slug: str, by: str, value: str) -> str:
    from urllib.parse import urlencode

    base = reverse("my-customers", kwargs={"tenant": tenant_slug})
    return f"{base}?{urlencode({'dimension': by, 'value': value or cm.NONE})}"
