"""Hand-made data for the operations tests: one tenant's customers in every segment, products over
suppliers, brands and categories (stock and non-stock), invoice lines in and out of the run's window
(returns, special orders, two branches, two ship methods), inventory, and a published run. The tests
recompute each figure naively from `Data.lines` (plain Python over the rows, Decimal money)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django_scopes import scopes_disabled

from sales import summaries
from sales.models import Customer, Inventory, InvoiceLine, Product
from tests.pages.conftest import AS_OF, make_run

WINDOW_DAYS = 365
START = AS_OF - timedelta(days=WINDOW_DAYS - 1)
SEGMENTS = [
    "core",
    "core",
    "core",
    "opportunistic",
    "service_drain",
    "marginal",
    "marginal",
    "core",
    "lapsed",
    "marginal",
]
RATES = {
    "window_days": WINDOW_DAYS,
    "value_top_share": 0.3,
    "profit_top_share": 0.3,
    "cost_per_line": "2.50",
    "cost_per_special_order": "30.00",
    "delivery_cost": {"truck": "40.00", "ups": "12.50"},
    "default_delivery_cost": "15.00",
}


@dataclass
class Data:
    tenant: object
    run: object
    customers: list
    products: list
    lines: list[
        dict
    ]  # {customer, product, invoice_id, invoice_date, quantity, revenue, cost, special_order, branch, ship_method}
    segment: dict  # customer pk -> segment
    net_profit: dict  # customer pk -> score net profit

    def in_window(self):
        return [ln for ln in self.lines if START <= ln["invoice_date"] <= AS_OF]


def build(tenant, *, seed: int = 7, n_lines: int = 400) -> Data:
    rng = random.Random(seed)
    d = tenant.distributor
    with scopes_disabled():
        customers = [
            Customer.objects.create(
                distributor=d,
                customer_id=f"K{i:02d}",
                name=f"Customer {i}",
                branch=["East", "West"][i % 2],
                customer_class=["contractor", "plant"][i % 3 == 0],
                supply_chain_role="end_user",
            )
            for i in range(len(SEGMENTS))
        ]
        products = [
            Product.objects.create(
                distributor=d,
                product_id=f"P{i:02d}",
                name=f"Product {i}",
                category=["Pipe", "Valves", "Wire", "Tools"][i % 4],
                brand=["Acme", "Bolt", "Crest"][i % 3],
                supplier_id=["S1", "S2", "S3", "S4"][i % 4 if i < 12 else 0],
                is_stock=None if i == 11 else (i % 5 != 0),
            )
            for i in range(14)
        ]
        lines = []
        for n in range(n_lines):
            c = customers[rng.randrange(len(customers) - 1)]  # the last customer buys nothing
            if SEGMENTS[customers.index(c)] == "lapsed" and rng.random() < 0.8:
                continue
            p = products[rng.randrange(13)]  # P13: a stock item nobody buys
            day = AS_OF - timedelta(days=rng.randrange(-20, 500))  # some after the window, some before
            qty = Decimal(rng.randrange(1, 20))
            revenue = Decimal(rng.randrange(100, 100000)) / 100 + Decimal("0.0049") * (n % 3)
            cost = (revenue * Decimal(rng.choice(["0.6", "0.75", "1.1"]))).quantize(Decimal("0.0001"))
            if rng.random() < 0.07:  # a return
                qty, revenue, cost = -qty, -revenue, -cost
            lines.append(
                {
                    "customer": c,
                    "product": p,
                    "invoice_id": f"I{rng.randrange(120):04d}-{c.customer_id}",
                    "invoice_date": day,
                    "quantity": qty,
                    "revenue": revenue,
                    "cost": cost,
                    "special_order": rng.random() < 0.2,
                    "branch": ["East", "West"][rng.randrange(2)],
                    "ship_method": ["truck", "ups", "pickup"][rng.randrange(3)],
                }
            )
        # An invoice has one date (the summaries rely on it): the first line's date for every line.
        first_day = {}
        for ln in lines:
            ln["invoice_date"] = first_day.setdefault(ln["invoice_id"], ln["invoice_date"])
        InvoiceLine.objects.bulk_create(
            [InvoiceLine(distributor=d, line_no=i, **ln) for i, ln in enumerate(lines)], batch_size=1000
        )
        summaries.refresh_tenant(d)
        stock = [("East", "3", "1", 30), ("", "5", "0", 60), ("West", "10000", "0", 7), ("West", "0", "2", None)]
        Inventory.objects.bulk_create(
            [
                Inventory(
                    distributor=d,
                    product=products[i],
                    branch=b,
                    on_hand=Decimal(h),
                    on_order=Decimal(o),
                    lead_time_days=t,
                )
                for i, (b, h, o, t) in enumerate(stock)
            ]
        )
    # The run's window revenue of each customer (every window line, returns included), as a run stores it.
    revenue = {c.pk: Decimal(0) for c in customers}
    for ln in lines:
        if START <= ln["invoice_date"] <= AS_OF:
            revenue[ln["customer"].pk] += ln["revenue"]
    rows = {
        c: {
            "segment": s,
            "net_profit": 1000.0 - 37 * i,
            "share_of_wallet": (0.2 + 0.07 * i) if i % 2 else None,
            "revenue": float(revenue[c.pk]),
        }
        for i, (c, s) in enumerate(zip(customers, SEGMENTS, strict=True))
    }
    run = make_run(d, rows, as_of=AS_OF, settings=RATES)
    return Data(
        tenant=tenant,
        run=run,
        customers=customers,
        products=products,
        lines=lines,
        segment={c.pk: rows[c]["segment"] for c in customers},
        net_profit={c.pk: rows[c]["net_profit"] for c in customers},
    )


@pytest.fixture(autouse=True)
def _clear_cache():
    """The per-run caches are keyed by the run's pk, which a rolled-back test may hand to the next one."""
    from operations import selectors

    cache.clear()
    selectors._MEMO.clear()
    yield
    cache.clear()
    selectors._MEMO.clear()


@pytest.fixture
def data(tenant_a) -> Data:
    return build(tenant_a)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def window_start() -> date:
    return START
