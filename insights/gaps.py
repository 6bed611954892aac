"""Gap analysis per customer (issue 16, item 3): the customer's category mix over the published
run's window against its *peers*, the run's core customers of its own customer class (all core
customers when the class has fewer than `MIN_PEERS`; the customer itself counts when it is core).

Per category:
* `share` / `core_share`: the customer's share of its revenue in it, and the peers' pooled share
  (their revenue in it / their revenue), in points;
* `gap`: share - core_share, in points;
* `expected`: the peers' median spend in it (a peer who does not buy it spends 0) scaled to this
  customer's size (its window revenue / the peers' median window revenue);
* `at_stake`: max(0, expected - the customer's revenue in it, a net return counting as none): the
  money at stake (a refund is not a sale to win back: it would have counted a $643 return as $643 at
  stake in a category the peers spend $4 in).

Revenue is the window's sum of lines per category; a customer's size is the sum of its categories'
positive revenue. Rows are sorted by money at stake (largest first); categories with nothing at
stake have no gap to close and are collapsed under "show all" with the rest. The peers' figures
come from the core customers' lines read once per run (`insights.leakage.core_product_revenue`)
and are cached per run, class and assignment stamp."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from sales.models import InvoiceLine
from segments.selectors import run_window
from stratify.formatting import money_decimal

from .benchframe import NONE_VALUE, ZERO, assignment_stamp, customer_frame, score_frame
from .caching import run_cached
from .leakage import core_product_revenue

MIN_PEERS = 10
SHOWN = 10
UNCATEGORISED = "Uncategorised"


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return ZERO
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def peer_benchmark(*, distributor, run, customer_class: str, stamp: str | None = None) -> dict:
    """The peers of a customer of `customer_class`: {"scope": "class"|"all", "peers": n,
    "median_size": Decimal, "median_spend": {category: Decimal}, "pooled_share": {category: float}}."""
    stamp = stamp or assignment_stamp(distributor)

    def compute():
        scores = score_frame(distributor, run)
        core_ids = set(scores.loc[scores["segment"] == "core", "customer"])
        customers = customer_frame(distributor, run, stamp)
        of_class = set(customers.loc[customers["customer_class"] == customer_class, "customer"]) & core_ids
        scope, peers = ("class", of_class) if len(of_class) >= MIN_PEERS else ("all", core_ids)
        lines = core_product_revenue(distributor, run)
        lines = lines[lines["customer"].isin(peers)]
        spend: dict[int, dict[str, Decimal]] = {p: {} for p in peers}
        # Per (customer, category) first: a groupby keeps the rows' order, so the Decimal sums are the
        # same, and only the grouped rows become Python objects.
        category = lines["category"].where(lines["category"] != NONE_VALUE, UNCATEGORISED)
        sums = lines.groupby([lines["customer"].astype("int64"), category], sort=False)["revenue"]
        for (customer, name), revenue in sums.agg(lambda s: sum(s, ZERO)).items():
            spend.setdefault(int(customer), {})[name] = revenue
        categories = sorted({c for s in spend.values() for c in s})
        sizes = [sum((v for v in s.values() if v > 0), ZERO) for s in spend.values()]
        pooled = {c: sum((max(s.get(c, ZERO), ZERO) for s in spend.values()), ZERO) for c in categories}
        pooled_total = sum(pooled.values(), ZERO)
        return {
            "scope": scope,
            "peers": len(peers),
            "median_size": _median(sizes),
            "median_spend": {c: _median([s.get(c, ZERO) for s in spend.values()]) for c in categories},
            "pooled_share": {c: float(pooled[c] / pooled_total) if pooled_total else 0.0 for c in categories},
        }

    return run_cached(distributor, run, f"gap_peers:{stamp}:{customer_class}", compute)


def customer_spend(*, distributor, run, customer) -> dict[str, Decimal]:
    """The customer's revenue per category in the run's window (one GROUP BY)."""
    window = run_window(run)
    rows = (
        InvoiceLine.objects.filter(
            distributor=distributor, customer=customer, invoice_date__gte=window.start, invoice_date__lte=window.as_of
        )
        .values("product__category")
        .annotate(total=Sum("revenue"))
        .order_by()
    )
    out: dict[str, Decimal] = {}
    for r in rows:
        name = r["product__category"] or UNCATEGORISED
        out[name] = out.get(name, ZERO) + Decimal(r["total"] or 0)
    return out


def gap_rows(*, distributor, run, customer) -> dict:
    """{"rows": every category of the customer or its peers, by money at stake, "scope", "peers",
    "customer_class"}; see the module's docstring."""
    peers = peer_benchmark(distributor=distributor, run=run, customer_class=customer.customer_class or "")
    mine = customer_spend(distributor=distributor, run=run, customer=customer)
    size = sum((v for v in mine.values() if v > 0), ZERO)
    scale = size / peers["median_size"] if peers["median_size"] > 0 else ZERO
    rows = []
    for category in sorted(set(mine) | set(peers["median_spend"])):
        revenue = mine.get(category, ZERO)
        share = float(max(revenue, ZERO) / size) if size > 0 else 0.0
        core_share = peers["pooled_share"].get(category, 0.0)
        expected = peers["median_spend"].get(category, ZERO) * scale
        rows.append(
            {
                "category": category,
                "revenue": revenue,
                "share": round(share * 100, 1),
                "core_share": round(core_share * 100, 1),
                "gap": round((share - core_share) * 100, 1),
                "expected": money_decimal(expected),
                "at_stake": money_decimal(max(ZERO, expected - max(revenue, ZERO))),
            }
        )
    rows.sort(key=lambda r: (-r["at_stake"], r["gap"], r["category"]))
    return {
        "rows": rows,
        "scope": peers["scope"],
        "peers": peers["peers"],
        "customer_class": customer.customer_class,
        "at_stake": sum((r["at_stake"] for r in rows), ZERO),
    }


def split(rows: list[dict], shown: int = SHOWN) -> tuple[list[dict], list[dict]]:
    """The categories with money at stake, the `shown` largest; the rest (behind "show all"),
    categories with nothing at stake collapsed there, after the others."""
    staked = [r for r in rows if r["at_stake"] > 0]
    top = staked[:shown]
    return top, staked[shown:] + [r for r in rows if r["at_stake"] <= 0]
