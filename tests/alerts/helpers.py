"""Helpers of the alerts tests: a catalog with categories, brands, suppliers and replacement cycles,
histories built from per-customer patterns, two published runs, and the naive reference's input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django_scopes import scope, scopes_disabled

from alerts.models import SETTING_DEFAULTS
from sales.models import Customer, InvoiceLine, Product, Rep
from segments import services
from segments.models import CustomerScore, StratificationRun
from stratify.jobs.models import Job
from stratify.jobs.services import job_execute
from tests.alerts.reference import Ref

AS_OF = date(2026, 6, 30)
PRODUCTS = [
    # product_id, category, brand, supplier, cycle
    ("P0", "Fasteners", "Acme", "S1", None),
    ("P1", "Fasteners", "Bolt", "S2", None),
    ("P2", "Tools", "Acme", "S1", 60),
    ("P3", "Tools", "Crux", "S3", None),
    ("P4", "Safety", "Bolt", "S2", 90),
    ("P5", "Safety", "Crux", "S3", None),
    ("P6", "", "", "", None),
]


def catalog(distributor, n_customers: int):
    with scopes_disabled():
        reps = [
            Rep.objects.get_or_create(distributor=distributor, rep_id=f"R{i}", defaults={"branch": f"B{i}"})[0]
            for i in range(3)
        ]
        customers = [
            Customer.objects.get_or_create(
                distributor=distributor,
                customer_id=f"C{i:03d}",
                defaults={
                    "name": f"Customer {i}",
                    "rep": reps[i % 3],
                    "branch": f"B{i % 2}",
                    "customer_class": ["contractor", "oem", ""][i % 3],
                },
            )[0]
            for i in range(n_customers)
        ]
        products = [
            Product.objects.get_or_create(
                distributor=distributor,
                product_id=pid,
                defaults={"category": cat, "brand": brand, "supplier_id": sup, "replacement_cycle_days": cycle},
            )[0]
            for pid, cat, brand, sup, cycle in PRODUCTS
        ]
    return reps, customers, products


def history(customers, products, patterns: list[dict], *, as_of=AS_OF) -> list[dict]:
    """Lines from per-customer patterns: {cadence, start (youngest age), products (indexes), base,
    recent_factor (revenue multiplier for ages < 90), drop_product (index not bought in the window or
    -1), returns (bool), window_factor (optional multiplier for ages < 365), horizon (days of history before start)}."""
    rows = []
    for ci, (customer, p) in enumerate(zip(customers, patterns, strict=False)):
        age, k = p["start"], 0
        while age <= p["start"] + p["horizon"]:
            for j, pi in enumerate(p["products"]):
                if pi == p["drop_product"] and age < 365:
                    continue
                revenue = Decimal(p["base"] + 13 * j + (k % 5)) * (Decimal(p["recent_factor"]) if age < 90 else 1)
                revenue *= Decimal(p.get("window_factor", "1")) if age < 365 else 1
                revenue = revenue.quantize(Decimal("0.01"))
                is_return = p["returns"] and k % 7 == 3 and j == 0
                rows.append(
                    {
                        "customer": customer,
                        "product": products[pi],
                        "invoice_id": f"I{ci}-{k}",
                        "invoice_date": as_of - timedelta(days=age),
                        "quantity": Decimal(-1) if is_return else Decimal(2),
                        "revenue": -revenue if is_return else revenue,
                        "cost": revenue * Decimal("0.7"),
                        "ship_method": ["truck", "parcel", ""][(ci + k) % 3],
                        "special_order": k % 6 == 5,
                        "days_to_pay": None if k % 4 == 0 else 15 + ci % 20,
                    }
                )
            age += p["cadence"]
            k += 1
    return rows


def publish_run(distributor, *, as_of) -> StratificationRun:
    """A published run (its alert job is not run: call `raise_for`)."""
    with scope(distributor=distributor):
        run = services.run_request(distributor=distributor, dispatch=False, publish=True, as_of=as_of)
    job_execute(run.job_id)
    with scopes_disabled():
        run.refresh_from_db()
    assert run.status == StratificationRun.Status.SUCCEEDED, run.message
    return run


def raise_for(run) -> dict:
    """Run the raise_alerts job for `run` in-process (as the worker would)."""
    with scopes_disabled():
        job = Job.objects.create(distributor_id=run.distributor_id, kind="raise_alerts", params={"run": run.number})
    job_execute(job.pk)
    with scopes_disabled():
        job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    return job.result


def reference_for(distributor, run, settings: dict | None = None) -> Ref:
    settings = {**SETTING_DEFAULTS, **(settings or {})}
    with scopes_disabled():
        lines = [
            {
                "customer_id": x.customer.customer_id,
                "product_id": x.product.product_id,
                "invoice_id": x.invoice_id,
                "invoice_date": x.invoice_date,
                "quantity": x.quantity,
                "revenue": x.revenue,
            }
            for x in InvoiceLine.objects.filter(distributor=distributor, invoice_date__lte=run.as_of).select_related(
                "customer", "product"
            )
        ]
        products = {
            p.product_id: {"category": p.category, "brand": p.brand, "supplier_id": p.supplier_id,
                           "cycle": p.replacement_cycle_days}
            for p in Product.objects.filter(distributor=distributor)
        }  # fmt: skip
        attrs = {
            c.customer_id: {
                "branch": c.branch,
                "customer_class": c.customer_class,
                "rep": c.rep.rep_id if c.rep else "",
            }
            for c in Customer.objects.filter(distributor=distributor).select_related("rep")
        }

        def scores_of(r):
            return {
                s.customer.customer_id: {
                    "segment": s.segment,
                    "previous_segment": s.previous_segment,
                    "net_profit": s.net_profit,
                    "revenue": s.revenue,
                    "cost_to_serve": s.cost_to_serve,
                    "value_rank": s.value_rank,
                    "profit_rank": s.profit_rank,
                }
                for s in CustomerScore.objects.filter(distributor=distributor, run=r).select_related("customer")
            }

        scores = scores_of(run)
        previous = scores_of(run.compared_to) if run.compared_to_id else {}
    return Ref(
        lines=lines,
        scores=scores,
        previous=previous,
        attrs=attrs,
        products=products,
        settings=settings,
        as_of=run.as_of,
        window_days=run.settings["window_days"],
        model={
            "value_top_share": run.settings["value_top_share"],
            "profit_top_share": run.settings["profit_top_share"],
        },
    )
