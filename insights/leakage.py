"""Category, brand and supplier leakage among core customers (issue 16, item 2).

Who: the published run's core customers. Windows (from the run's as-of date and window, in days):
the *window* (the run's), the *prior window* (the same number of days just before it) and *a year
earlier* (the window moved back 365 days). Per value of the dimension (a product's category, brand
or supplier; an empty one is "(none)"):

* `buyers`: core customers with revenue in it in the window > 0; `buyer_share` = buyers / all core
  customers of the run;
* `revenue`, `prior_revenue`, `year_ago_revenue`: the core customers' revenue in it in each window;
* `stopped`: core customers who bought it in the prior window (> 0) and not in the window (<= 0);
  `cut`: those who still buy it, for less than in the prior window;
* `leaked`: the money leaked, the sum over core customers of max(0, prior - window revenue);
* `top_losers`: the (up to) three core customers with the biggest drop.

Money is exact (Decimal sums of the lines). One GROUP BY over the core customers' lines in the three
windows (by customer and product) and one read of the products, cached per run."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
from django.db.models import Q, Sum

from channels.channel_map import unknown_choice
from sales.models import Customer, InvoiceLine, Product
from segments.models import CustomerScore
from segments.selectors import run_window

from .benchframe import NONE_VALUE, ZERO
from .caching import run_cached

DIMENSIONS: dict[str, str] = {"category": "Category", "brand": "Brand", "supplier": "Supplier"}
TOP_LOSERS = 3
WINDOWS = ("revenue", "prior_revenue", "year_ago_revenue")


def unknown_dimension(dimension: str) -> str | None:
    return unknown_choice("dimension", dimension, tuple(DIMENSIONS))


YEAR_AGO_COLUMNS = ("year_ago_revenue", "change_vs_year_ago")


def year_ago_is_prior(run) -> bool:
    """Whether "a year earlier" is the prior window itself (a 365-day window): the page and the
    exports then show the one period once, as the prior window."""
    spans = windows(run)
    return spans["prior_revenue"] == spans["year_ago_revenue"]


def windows(run) -> dict[str, tuple]:
    """(first day, last day) of the window, the prior window and a year earlier."""
    w = run_window(run)
    days = timedelta(days=w.window_days)
    year = timedelta(days=365)
    return {
        "revenue": (w.start, w.as_of),
        "prior_revenue": (w.start - days, w.as_of - days),
        "year_ago_revenue": (w.start - year, w.as_of - year),
    }


def core_product_revenue(distributor, run) -> pd.DataFrame:
    """Per core customer and product: revenue in each of the three windows (Decimal), with the
    product's category, brand and supplier. Cached per run."""

    def compute():
        spans = windows(run)
        first = min(a for a, _ in spans.values())
        core = CustomerScore.objects.filter(distributor=distributor, run=run, segment="core").values("customer_id")
        sums = {
            f"w_{name}": Sum("revenue", filter=Q(invoice_date__gte=a, invoice_date__lte=b))
            for name, (a, b) in spans.items()
        }
        rows = list(
            InvoiceLine.objects.filter(
                distributor=distributor, customer_id__in=core, invoice_date__gte=first, invoice_date__lte=run.as_of
            )
            .values("customer_id", "product_id")
            .annotate(**sums)
            .order_by()
            .values_list("customer_id", "product_id", *sums)
        )
        frame = pd.DataFrame(rows, columns=["customer", "product", *WINDOWS])
        for name in WINDOWS:
            frame[name] = pd.Series(
                [v if v is not None else ZERO for v in frame[name]], index=frame.index, dtype=object
            )
        products = pd.DataFrame(
            list(Product.objects.filter(distributor=distributor).values_list("pk", "category", "brand", "supplier_id")),
            columns=["product", "category", "brand", "supplier"],
        )
        frame = frame.merge(products, on="product", how="left")
        for name in DIMENSIONS:
            frame[name] = frame[name].fillna("").replace("", NONE_VALUE)
        return frame

    return run_cached(distributor, run, "leakage_lines", compute)


def core_count(distributor, run) -> int:
    return run_cached(
        distributor,
        run,
        "core_count",
        lambda: CustomerScore.objects.filter(distributor=distributor, run=run, segment="core").count(),
    )


def _by_customer(frame: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Per (value, core customer): the three windows' revenue, summed exactly."""
    if frame.empty:
        return pd.DataFrame(columns=[dimension, "customer", *WINDOWS])
    grouped = frame.groupby([dimension, "customer"], sort=False)[list(WINDOWS)].agg(lambda s: sum(s, ZERO))
    return grouped.reset_index()


def leakage_rows(*, distributor, run, dimension: str) -> list[dict]:
    """One row per value of `dimension` bought by core customers in any of the windows, by money
    leaked (largest first). Cached per run and dimension."""

    def compute():
        per = _by_customer(core_product_revenue(distributor, run), dimension)
        total_core = core_count(distributor, run)
        names = (
            dict(
                Customer.objects.filter(
                    distributor=distributor, pk__in=list({int(c) for c in per["customer"]})
                ).values_list("pk", "customer_id")
            )
            if len(per)
            else {}
        )
        rows = []
        for value, group in per.groupby(dimension, sort=False):
            current, prior, year_ago = (list(group[n]) for n in WINDOWS)
            drops = [
                (max(ZERO, p - c), int(cust)) for c, p, cust in zip(current, prior, group["customer"], strict=True)
            ]
            buyers = sum(1 for c in current if c > 0)
            losers = sorted((d for d in drops if d[0] > 0), key=lambda d: (-d[0], names.get(d[1], "")))[:TOP_LOSERS]
            rows.append(
                {
                    "value": value,
                    "buyers": buyers,
                    "buyer_share": buyers / total_core if total_core else None,
                    "revenue": sum(current, ZERO),
                    "prior_revenue": sum(prior, ZERO),
                    "year_ago_revenue": sum(year_ago, ZERO),
                    "stopped": sum(1 for c, p in zip(current, prior, strict=True) if p > 0 and c <= 0),
                    "cut": sum(1 for c, p in zip(current, prior, strict=True) if c > 0 and c < p),
                    "leaked": sum((d for d, _ in drops), ZERO),
                    "top_losers": [names.get(c, "") for _, c in losers],
                }
            )
        for row in rows:
            row["change_vs_prior"] = _change(row["revenue"], row["prior_revenue"])
            row["change_vs_year_ago"] = _change(row["revenue"], row["year_ago_revenue"])
        rows.sort(key=lambda r: (-r["leaked"], r["value"]))
        return rows

    return run_cached(distributor, run, f"leakage:{dimension}", compute)


def _change(now: Decimal, before: Decimal) -> float | None:
    """(now - before) / before; None when before <= 0."""
    return float((now - before) / before) if before > 0 else None


def value_customers(*, distributor, run, dimension: str, value: str) -> list[dict]:
    """The core customers behind one value: their revenue in it in each window and the drop, the
    biggest drop first (customers who bought it in none of the windows are not listed)."""
    frame = core_product_revenue(distributor, run)
    per = _by_customer(frame, dimension)
    per = per[per[dimension] == value]
    customers = {
        c.pk: c
        for c in Customer.objects.filter(distributor=distributor, pk__in=[int(x) for x in per["customer"]]).order_by()
    }
    out = []
    for row in per.itertuples(index=False):
        customer = customers.get(int(row.customer))
        if customer is None:
            continue
        current, prior, year_ago = row.revenue, row.prior_revenue, row.year_ago_revenue
        out.append(
            {
                "customer_id": customer.customer_id,
                "name": customer.name,
                "revenue": current,
                "prior_revenue": prior,
                "year_ago_revenue": year_ago,
                "drop": max(ZERO, prior - current),
                "status": "stopped" if prior > 0 and current <= 0 else ("cut" if 0 < current < prior else ""),
            }
        )
    out.sort(key=lambda r: (-r["drop"], r["customer_id"]))
    return out
