"""Fixtures of the page tests: published runs built directly from models (no engine), with invoice
lines and month sums for the trend and the category mix."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from sales.models import CustomerMonth, InvoiceLine
from segments.models import CustomerScore, StratificationProfile, StratificationRun
from segments.services.score_writer import list_ranks
from tests import factories as f

AS_OF = date(2026, 6, 30)
PASSWORD = "pass-word-123"

EXPLANATION = {
    "value": {
        "positive": [{"factor": "revenue", "contribution": 0.1, "percentile": 0.9, "value": 12000.0}],
        "negative": [{"factor": "categories", "contribution": -0.05, "percentile": 0.2, "value": 1.0}],
    },
    "profit": {
        "positive": [{"factor": "net_profit", "contribution": 0.2, "percentile": 0.85, "value": 3000.0}],
        "negative": [{"factor": "net_margin_pct", "contribution": -0.02, "percentile": 0.4, "value": 0.05}],
    },
}


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_run(distributor, rows: dict, *, publish: bool = True, as_of: date = AS_OF, settings=None):
    """A succeeded run with one score per customer. `rows` maps a customer to a dict of score fields
    (segment, previous_segment, revenue...). Publishing makes it the profile's current run and moves
    the former one to previous."""
    with scopes_disabled():
        run = StratificationRun.objects.create(
            distributor=distributor,
            status=StratificationRun.Status.SUCCEEDED,
            settings=settings or {"window_days": 365, "value_top_share": 0.3, "profit_top_share": 0.3},
            as_of=as_of,
            published_at=timezone.now() if publish else None,
            publish_requested=publish,
        )
        scores = []
        for i, (customer, fields) in enumerate(rows.items()):
            segment = fields.get("segment", "core")
            ranked = segment != "lapsed"
            data = {
                "value_score": 0.9 - i * 0.01 if ranked else None,
                "profit_score": 0.8 - i * 0.01 if ranked else None,
                "value_rank": 0.9 if ranked else None,
                "profit_rank": 0.8 if ranked else None,
                "revenue": 10000.0 - i,
                "gross_margin": 3000.0,
                "gm_pct": 0.3,
                "cost_to_serve": 500.0,
                "net_profit": 2500.0 - i * 100,
                "orders": 12.0,
                "recency_days": 10.0,
                "growth": 0.1,
                "explanation": EXPLANATION if ranked else {},
            }
            data.update(fields)
            scores.append(CustomerScore(distributor=distributor, run=run, customer=customer, **data))
        # The lists' default order, stored with the run as the score writer does.
        ranks = list_ranks([s.segment for s in scores], [s.revenue for s in scores])
        for score, rank in zip(scores, ranks, strict=True):
            score.list_rank = int(rank)
        CustomerScore.objects.bulk_create(scores)
        if publish:
            profile, _ = StratificationProfile.objects.get_or_create(distributor=distributor)
            profile.previous_run = profile.current_run
            profile.current_run = run
            profile.save()
    return run


def add_sales(distributor, customer, *, categories=("Pipe", "Valves"), months=3, amount=Decimal("1000")):
    """Invoice lines (one per category and month, before AS_OF) and their CustomerMonth sums."""
    with scopes_disabled():
        products = {
            c: f.ProductFactory(distributor=distributor, category=c, product_id=f"{customer.customer_id}-{c}")
            for c in categories
        }
        for m in range(months):
            day = AS_OF.replace(day=15) - timedelta(days=30 * m)
            for _c, product in products.items():
                f.InvoiceLineFactory(
                    distributor=distributor,
                    customer=customer,
                    product=product,
                    invoice_date=day,
                    revenue=amount,
                    cost=amount * Decimal("0.7"),
                    days_to_pay=30,
                )
            CustomerMonth.objects.update_or_create(
                distributor=distributor,
                customer=customer,
                month=day.replace(day=1),
                defaults={
                    "revenue": amount * len(products),
                    "cost": amount * Decimal("0.7") * len(products),
                    "lines": len(products),
                    "return_lines": 0,
                    "orders": len(products),
                },
            )


def many_customers(tenant, n: int, *, rep=None, prefix: str = "M"):
    """n more customers assigned to `rep` (default: the tenant's rep)."""
    with scopes_disabled():
        customers = [
            f.CustomerFactory(
                distributor=tenant.distributor, rep=rep or tenant.rep, customer_id=f"{tenant.slug}-{prefix}{i:03d}"
            )
            for i in range(n)
        ]
    return customers


__all__ = ["AS_OF", "InvoiceLine", "add_sales", "login", "make_run", "many_customers"]
