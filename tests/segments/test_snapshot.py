"""Issue 10, item 1: a run reads one snapshot. An import that commits while a run's aggregate
queries are running is either wholly in the run or wholly out of it, never half (revenue from before
the import, active months from after it), and the run records which data it saw."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from sales import summaries
from sales.models import Customer, InvoiceLine
from segments import aggregates
from segments.models import CustomerScore
from tests.segments.helpers import AS_OF, make_catalog, simple_lines, write_lines
from tests.segments.test_runs import execute


def _concurrent_import(distributor, customers, products):
    """What an import does, from another connection, committed: new lines for every customer (within
    the window, before as_of) and the summaries refreshed."""

    def work():
        try:
            with scopes_disabled():
                InvoiceLine.objects.bulk_create(
                    [
                        InvoiceLine(
                            distributor=distributor,
                            customer=customer,
                            product=products[0],
                            invoice_id=f"LATE-{i}",
                            line_no=1,
                            invoice_date=AS_OF - timedelta(days=3),
                            quantity=Decimal(1),
                            revenue=Decimal("1000.00"),
                            cost=Decimal("600.00"),
                        )
                        for i, customer in enumerate(customers)
                    ]
                )
                summaries.refresh_tenant(distributor)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


@pytest.mark.postgres
def test_an_import_committing_during_a_run_is_not_half_seen(tenant_a, transactional_db, monkeypatch):
    distributor = tenant_a.distributor
    customers, products = make_catalog(distributor)
    write_lines(distributor, simple_lines(customers, products))
    before = execute(distributor, publish=True, as_of=AS_OF)
    with scopes_disabled():
        revenue_before = dict(CustomerScore.objects.filter(run=before).values_list("customer_id", "revenue"))
        products_before = dict(CustomerScore.objects.filter(run=before).values_list("customer_id", "products"))

    original = aggregates._middle_months
    fired = []

    def import_between_statements(params):
        # The run's first aggregate query (per ship method) has run; the import commits now.
        if not fired:
            fired.append(True)
            _concurrent_import(distributor, customers, products)
        return original(params)

    monkeypatch.setattr(aggregates, "_middle_months", import_between_statements)
    during = execute(distributor, publish=False, as_of=AS_OF)
    assert fired and during.status == "succeeded", during.message
    with scopes_disabled():
        during_scores = {s.customer_id: s for s in CustomerScore.objects.filter(run=during)}
        # Revenue comes from the first query, products from a later one: both from before the import.
        assert {pk: s.revenue for pk, s in during_scores.items()} == revenue_before
        assert {pk: s.products for pk, s in during_scores.items()} == products_before
    assert during.data_seen["latest_invoice_date"] == AS_OF.isoformat()

    monkeypatch.setattr(aggregates, "_middle_months", original)
    after = execute(distributor, publish=False, as_of=AS_OF)
    with scopes_disabled():
        revenue_after = dict(CustomerScore.objects.filter(run=after).values_list("customer_id", "revenue"))
    # The next run sees the import whole: every customer gained the 1,000 of its late line.
    assert all(revenue_after[pk] == pytest.approx((revenue_before.get(pk) or 0) + 1000) for pk in revenue_after)
    with scopes_disabled():
        products_after = dict(CustomerScore.objects.filter(run=after).values_list("customer_id", "products"))
    assert products_after != products_before  # the late lines' product is new to some customers


def test_a_run_records_which_data_it_saw(tenant_a):
    distributor = tenant_a.distributor
    customers, products = make_catalog(distributor)
    write_lines(distributor, simple_lines(customers, products))
    run = execute(distributor, publish=True)
    with scopes_disabled():
        latest = InvoiceLine.objects.filter(distributor=distributor).order_by("-invoice_date").first().invoice_date
        assert run.data_seen == {
            "latest_invoice_date": latest.isoformat(),
            "last_import_job": None,
            "last_import_finished_at": None,
            "customers": Customer.objects.filter(distributor=distributor).count(),
        }


def test_the_last_import_a_run_saw_is_named_by_its_number(tenant_a, tenant_b):
    from django_scopes import scope

    from stratify.jobs.models import Job
    from stratify.jobs.services import job_enqueue

    for tenant in (tenant_b, tenant_b, tenant_a):  # B's jobs push A's database ids past its numbers
        with scope(distributor=tenant.distributor):
            job = job_enqueue(distributor=tenant.distributor, kind="import", dispatch=False)
        with scopes_disabled():
            Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
    distributor = tenant_a.distributor
    customers, products = make_catalog(distributor)
    write_lines(distributor, simple_lines(customers, products))
    run = execute(distributor, publish=True)
    assert run.status == "succeeded", run.message
    assert job.pk != job.number == 1
    assert run.data_seen["last_import_job"] == job.number
