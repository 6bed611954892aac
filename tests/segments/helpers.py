"""Helpers of the segments tests: write invoice lines for a tenant and read them back as the engine's
line table."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from django_scopes import scopes_disabled

from sales import summaries
from sales.models import Customer, InvoiceLine, Product
from stratify.engine import LINE_COLUMNS

AS_OF = date(2026, 6, 30)


def make_catalog(distributor, *, customers: int = 12, products: int = 6, categories=("A", "B", "C", "")):
    """Customers C000.. (some with a potential annual spend) and products P00.. over `categories`."""
    with scopes_disabled():
        custs = [
            Customer.objects.get_or_create(
                distributor=distributor,
                customer_id=f"C{i:03d}",
                defaults={"potential_annual_spend": Decimal(5000 + 1000 * i) if i % 3 else None},
            )[0]
            for i in range(customers)
        ]
        prods = [
            Product.objects.get_or_create(
                distributor=distributor, product_id=f"P{i:02d}", defaults={"category": categories[i % len(categories)]}
            )[0]
            for i in range(products)
        ]
    return custs, prods


def write_lines(distributor, rows: list[dict]) -> None:
    """Replace the tenant's invoice lines with `rows` (keys: customer, product, invoice_id, invoice_date,
    quantity, revenue, cost, ship_method, special_order, days_to_pay)."""
    with scopes_disabled():
        InvoiceLine.objects.filter(distributor=distributor).delete()
        InvoiceLine.objects.bulk_create(
            [InvoiceLine(distributor=distributor, line_no=i, **row) for i, row in enumerate(rows)], batch_size=1000
        )
        summaries.refresh_tenant(distributor)  # what an import does after writing lines


def lines_frame(distributor) -> pd.DataFrame:
    """The tenant's lines as the engine's line table (natural keys, category from the product)."""
    with scopes_disabled():
        values = InvoiceLine.objects.filter(distributor=distributor).values_list(
            "invoice_id",
            "invoice_date",
            "customer__customer_id",
            "product__product_id",
            "product__category",
            "quantity",
            "revenue",
            "cost",
            "ship_method",
            "special_order",
            "days_to_pay",
        )
        return pd.DataFrame.from_records(list(values), columns=list(LINE_COLUMNS))


def potentials(distributor) -> pd.Series:
    with scopes_disabled():
        return pd.Series(
            dict(Customer.objects.filter(distributor=distributor).values_list("customer_id", "potential_annual_spend")),
            dtype=object,
        )


def simple_lines(customers, products, *, as_of=AS_OF, per_customer: int = 6) -> list[dict]:
    """Deterministic, varied lines: every customer active except the last (lapsed)."""
    rows = []
    for ci, customer in enumerate(customers):
        lapsed = ci == len(customers) - 1
        for k in range(per_customer + ci % 4):
            age = 400 + 10 * k if lapsed else (17 * k + 5 * ci) % 360
            revenue = Decimal(100 + 37 * ci + 11 * k) + Decimal("0.25")
            rows.append(
                {
                    "customer": customer,
                    "product": products[(ci + k) % len(products)],
                    "invoice_id": f"I{ci}-{k // 2}",
                    "invoice_date": as_of - timedelta(days=age),
                    "quantity": Decimal(-1) if (k == 3 and ci % 2) else Decimal(2),
                    "revenue": -revenue if (k == 3 and ci % 2) else revenue,
                    "cost": revenue * Decimal("0.7") if ci % 5 else revenue * Decimal("1.2"),
                    "ship_method": ["", "truck", "parcel"][(ci + k) % 3],
                    "special_order": k % 5 == 4,
                    "days_to_pay": None if k % 3 == 0 else 20 + ci,
                }
            )
    return rows


def run_profit_centers(run) -> None:
    """Run the profit-centers job a run enqueued (tests run jobs in-process; the on-commit dispatch
    never fires inside a test's transaction)."""
    from stratify.jobs.models import Job
    from stratify.jobs.services import job_execute

    with scopes_disabled():
        job = Job.objects.filter(distributor_id=run.distributor_id, kind="profit_centers", params__run=run.number)
        job = job.order_by("-pk").first()
    assert job is not None, "the run enqueued no profit-centers job"
    job_execute(job.pk)
