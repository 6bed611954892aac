"""A deliberately naive, independent implementation of STRATIFICATION.md, straight from invoice lines.

Plain Python loops, exact arithmetic (``Fraction`` for everything, so ties are exact), a hand-written
ranking function, and its own defaults copied from the document. It shares NO code with
``stratify.engine``; it follows the choices documented in ``stratify/engine/__init__.py``.

``run_reference(lines, as_of=..., settings=..., potential=...)`` returns::

    {"customers": {customer_id: {factor: Fraction | None, "p_<factor>": Fraction,
                                 "value_score", "profit_score", "value_rank", "profit_rank": Fraction,
                                 "segment": str, "explanation": {...}, "exact": {money: Fraction}}},
     "lapsed": [customer_id, ...],
     "totals": {segment: {"count": int, "revenue": Fraction, ...}}}
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

REF_FACTORS = [
    "revenue",
    "growth",
    "orders",
    "products",
    "categories",
    "active_months",
    "tenure_days",
    "recency_days",
    "gross_margin",
    "gm_pct",
    "cost_to_serve",
    "net_profit",
    "net_margin_pct",
    "share_of_wallet",
]
REF_LOWER_IS_BETTER = ["recency_days", "cost_to_serve"]

REF_DEFAULTS = {
    "window_days": 365,
    "cost_per_order": "20.00",
    "cost_per_line": "2.50",
    "cost_per_return": "25.00",
    "cost_per_special_order": "30.00",
    "delivery_cost": {},
    "default_delivery_cost": "15.00",
    "ar_carrying_rate": "0.10",
    "value_weights": {
        "revenue": 0.35,
        "orders": 0.15,
        "active_months": 0.15,
        "products": 0.10,
        "categories": 0.10,
        "growth": 0.10,
        "tenure_days": 0.05,
    },
    "profit_weights": {"net_profit": 0.60, "net_margin_pct": 0.40},
    "value_top_share": 0.30,
    "profit_top_share": 0.30,
}


def exact(x) -> Fraction:
    """Exact Fraction of a money-like value, reading floats by their decimal repr (as the engine)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, Decimal):
        return Fraction(x)
    return Fraction(Decimal(str(x)))


def missing(x) -> bool:
    if x is None:
        return True
    try:
        return isinstance(x, float) and math.isnan(x)
    except TypeError:
        return False


def to_day(d) -> date:
    if isinstance(d, datetime):
        return d.date()
    if isinstance(d, date):
        return d
    if hasattr(d, "to_pydatetime"):
        return d.to_pydatetime().date()
    return date.fromisoformat(str(d)[:10])


def naive_rank(values):
    """Average ranks (1-based) of a list of comparable values, computed by counting."""
    ranks = []
    for v in values:
        smaller = 0
        equal = 0
        for u in values:
            if u < v:
                smaller += 1
            elif u == v:
                equal += 1
        # positions smaller+1 .. smaller+equal, averaged
        ranks.append(Fraction(2 * smaller + equal + 1, 2))
    return ranks


def percentiles(values, lower_is_better=False, missing_value=Fraction(0)):
    """p = average rank among the non-missing values / their count; missing -> missing_value."""
    present = []
    for v in values:
        if v is not None:
            present.append(-v if lower_is_better else v)
    ranks = naive_rank(present)
    n = len(present)
    out = []
    k = 0
    for v in values:
        if v is None:
            out.append(missing_value)
        else:
            out.append(ranks[k] / n)
            k += 1
    return out


def run_reference(lines, *, as_of, settings=None, potential=None):
    s = dict(REF_DEFAULTS)
    s.update(settings or {})
    window_days = int(s["window_days"])
    as_of = to_day(as_of)
    potential = potential or {}

    per_customer = {}
    for line in lines:
        day = to_day(line["invoice_date"])
        age = (as_of - day).days
        if age < 0:
            continue  # after as_of: ignored entirely
        cid = str(line["customer_id"])
        c = per_customer.setdefault(
            cid,
            {"first": day, "window": [], "prior": []},
        )
        if day < c["first"]:
            c["first"] = day
        if age < window_days:
            c["window"].append(line)
        elif age < 2 * window_days:
            c["prior"].append(line)

    delivery_map = {k: exact(v) for k, v in s["delivery_cost"].items()}
    customers = {}
    lapsed = []
    for cid in sorted(per_customer):
        c = per_customer[cid]
        if not c["window"]:
            if c["prior"]:
                lapsed.append(cid)
            continue
        revenue = Fraction(0)
        margin = Fraction(0)
        invoices = set()
        products = set()
        categories = set()
        months = set()
        deliveries = set()
        returns = 0
        specials = 0
        carrying = Fraction(0)
        last = None
        for line in c["window"]:
            rev = Fraction(0) if missing(line["revenue"]) else exact(line["revenue"])
            cost = Fraction(0) if missing(line["cost"]) else exact(line["cost"])
            qty = line["quantity"]
            is_return = (not missing(qty) and exact(qty) < 0) or rev < 0
            revenue += rev
            margin += rev - cost
            day = to_day(line["invoice_date"])
            if last is None or day > last:
                last = day
            if line["special_order"] is True or (not missing(line["special_order"]) and bool(line["special_order"])):
                specials += 1
            dtp = line["days_to_pay"]
            if not missing(dtp) and dtp is not None and str(dtp) not in ("<NA>", "nan"):
                carrying += rev * int(dtp) / 365 * exact(s["ar_carrying_rate"])
            if is_return:
                returns += 1
                continue
            invoices.add(str(line["invoice_id"]))
            products.add(str(line["product_id"]))
            cat = line["category"]
            if not missing(cat) and str(cat) != "":
                categories.add(str(cat))
            months.add(f"{day.year:04d}-{day.month:02d}")
            method = line["ship_method"]
            method = "" if missing(method) else str(method)
            deliveries.add((str(line["invoice_id"]), method))

        prior_revenue = Fraction(0)
        for line in c["prior"]:
            if not missing(line["revenue"]):
                prior_revenue += exact(line["revenue"])

        cts = Fraction(0)
        cts += exact(s["cost_per_order"]) * len(invoices)
        cts += exact(s["cost_per_line"]) * len(c["window"])
        cts += exact(s["cost_per_return"]) * returns
        cts += exact(s["cost_per_special_order"]) * specials
        for _invoice, method in deliveries:
            if method != "" and method in delivery_map:
                cts += delivery_map[method]
            else:
                cts += exact(s["default_delivery_cost"])
        cts += carrying
        net = margin - cts

        pot = potential.get(cid)
        f = {
            "revenue": revenue,
            "growth": (revenue - prior_revenue) / prior_revenue if prior_revenue > 0 else None,
            "orders": Fraction(len(invoices)),
            "products": Fraction(len(products)),
            "categories": Fraction(len(categories)),
            "active_months": Fraction(len(months)),
            "tenure_days": Fraction((as_of - c["first"]).days),
            "recency_days": Fraction((as_of - last).days),
            "gross_margin": margin,
            "gm_pct": margin / revenue if revenue > 0 else None,
            "cost_to_serve": cts,
            "net_profit": net,
            "net_margin_pct": net / revenue if revenue > 0 else None,
            "share_of_wallet": (
                revenue / exact(pot) if pot is not None and not missing(pot) and exact(pot) > 0 else None
            ),
        }
        counts = {
            "window_lines": len(c["window"]),
            "prior_lines": len(c["prior"]),
            "return_lines": returns,
            "special_order_lines": specials,
            "deliveries": len(deliveries),
        }
        customers[cid] = {**f, "counts": counts}

    ids = sorted(customers)
    for factor in REF_FACTORS:
        miss = Fraction(1, 2) if factor in ("growth", "share_of_wallet") else Fraction(0)
        ps = percentiles(
            [customers[i][factor] for i in ids],
            lower_is_better=factor in REF_LOWER_IS_BETTER,
            missing_value=miss,
        )
        for i, p in zip(ids, ps, strict=True):
            customers[i]["p_" + factor] = p

    for axis in ("value", "profit"):
        weights = {k: Fraction(str(v)) for k, v in s[axis + "_weights"].items()}
        total_w = sum(weights.values())
        for i in ids:
            score = Fraction(0)
            for factor, w in weights.items():
                score += w * customers[i]["p_" + factor]
            customers[i][axis + "_score"] = score / total_w
        ranks = percentiles([customers[i][axis + "_score"] for i in ids])
        for i, r in zip(ids, ranks, strict=True):
            customers[i][axis + "_rank"] = r

    value_cut = 1 - Fraction(str(s["value_top_share"]))
    profit_cut = 1 - Fraction(str(s["profit_top_share"]))
    totals = {
        seg: {"count": 0, "revenue": Fraction(0), "gross_margin": Fraction(0), "cost_to_serve": Fraction(0),
              "net_profit": Fraction(0)}
        for seg in ("core", "service_drain", "opportunistic", "marginal")
    }  # fmt: skip
    for i in ids:
        c = customers[i]
        high_value = c["value_rank"] > value_cut
        high_profit = c["profit_rank"] > profit_cut and c["net_profit"] > 0
        if high_value and high_profit:
            seg = "core"
        elif high_value:
            seg = "service_drain"
        elif high_profit:
            seg = "opportunistic"
        else:
            seg = "marginal"
        c["segment"] = seg
        t = totals[seg]
        t["count"] += 1
        for k in ("revenue", "gross_margin", "cost_to_serve", "net_profit"):
            t[k] += c[k]

        c["explanation"] = {}
        for axis in ("value", "profit"):
            weights = s[axis + "_weights"]
            items = []
            for pos, factor in enumerate(REF_FACTORS):
                w = Fraction(str(weights.get(factor, 0)))
                if w > 0:
                    items.append((w * (c["p_" + factor] - Fraction(1, 2)), pos, factor))
            pos_items = [x for x in items if x[0] > 0]
            neg_items = [x for x in items if x[0] < 0]
            pos_items.sort(key=lambda x: (-x[0], x[1]))
            neg_items.sort(key=lambda x: (x[0], x[1]))
            c["explanation"][axis] = {
                "positive": [
                    {"factor": x[2], "contribution": x[0], "percentile": c["p_" + x[2]], "value": c[x[2]]}
                    for x in pos_items[:2]
                ],
                "negative": [
                    {"factor": x[2], "contribution": x[0], "percentile": c["p_" + x[2]], "value": c[x[2]]}
                    for x in neg_items[:2]
                ],
            }
    return {"customers": customers, "lapsed": lapsed, "totals": totals}
