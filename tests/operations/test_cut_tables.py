"""The run's cut tables (operations.models.CutPair, CoreProduct, RunCutTables): their rows against a naive
computation from the hand-made lines (tests/operations/conftest.py), the cut impact read from them
equal to the one read from the lines, a preview run with rows of its own, tenants kept apart, an import
since the tables were written sending the cut back to the lines, and the job a run enqueues."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.cache import cache
from django_scopes import scopes_disabled

from operations import selectors as ops
from operations.jobs import cut_tables_job
from operations.models import CoreCustomer, CoreProduct, CutPair, RunCutTables
from operations.selectors import CutChoice
from operations.services import cut_tables_write
from sales.summaries import UNITS
from stratify.jobs.models import Job
from stratify.jobs.registry import CUT_TABLES_JOB_KIND
from stratify.jobs.services import ProgressReporter
from tests.operations.conftest import RATES, build
from tests.operations.test_figures import CHOICES, naive_cut
from tests.pages.conftest import make_run

pytestmark = pytest.mark.django_db


def units(value: Decimal) -> int:
    return int(value * UNITS)


def naive_pairs(data, segment: dict) -> dict:
    """(customer pk, supplier, brand) -> [segment, lines, special lines, revenue units, cost units]."""
    out = defaultdict(lambda: [None, 0, 0, 0, 0])
    for ln in data.in_window():
        p, pk = ln["product"], ln["customer"].pk
        row = out[(pk, p.supplier_id, p.brand)]
        row[0] = segment[pk]
        row[1] += 1
        row[2] += int(ln["special_order"])
        row[3] += units(ln["revenue"])
        row[4] += units(ln["cost"])
    return {key: tuple(value) for key, value in out.items()}


def naive_core_products(data, segment: dict) -> dict:
    """product pk -> (core customers, core revenue units)."""
    customers, revenue = defaultdict(set), defaultdict(int)
    for ln in data.in_window():
        if segment[ln["customer"].pk] == "core" and ln["product"].category:
            customers[ln["product"].pk].add(ln["customer"].pk)
            revenue[ln["product"].pk] += units(ln["revenue"])
    return {pk: (len(customers[pk]), revenue[pk]) for pk in customers}


def stored_pairs(distributor, run) -> dict:
    with scopes_disabled():
        rows = CutPair.objects.filter(distributor=distributor, run=run).values_list(
            "customer_id", "supplier_id", "brand", "segment", "lines", "special_lines", "revenue_units", "cost_units"
        )
        return {(c, s, b): tuple(rest) for c, s, b, *rest in rows}


def stored_core_products(distributor, run) -> dict:
    with scopes_disabled():
        rows = CoreProduct.objects.filter(distributor=distributor, run=run)
        return {
            pk: (n, revenue) for pk, n, revenue in rows.values_list("product_id", "core_customers", "revenue_units")
        }


def stored_core_customers(distributor, run) -> dict:
    with scopes_disabled():
        rows = CoreCustomer.objects.filter(distributor=distributor, run=run)
        return {pk: (a, n, w) for pk, a, n, w in rows.values_list("customer_id", "account", "name", "window_revenue")}


def scores_of(run) -> dict:
    """customer -> the window revenue of its score in `run`."""
    from segments.models import CustomerScore

    with scopes_disabled():
        return {s.customer: s.revenue for s in CustomerScore.objects.filter(run=run).select_related("customer")}


def impact(data, choice, run=None):
    cache.clear()
    ops._MEMO.clear()
    with scopes_disabled():
        return ops.cut_impact(distributor=data.tenant.distributor, run=run or data.run, choice=choice)


def write(data, run=None) -> RunCutTables:
    with scopes_disabled():
        return cut_tables_write(distributor=data.tenant.distributor, run=run or data.run)


def test_cut_tables_equal_the_naive_sums_of_the_window_lines(data):
    tables = write(data)
    pairs = stored_pairs(data.tenant.distributor, data.run)
    assert pairs == naive_pairs(data, data.segment)
    assert tables.pairs == len(pairs)
    assert stored_core_products(data.tenant.distributor, data.run) == naive_core_products(data, data.segment)
    assert tables.core_products == len(naive_core_products(data, data.segment))
    assert {tuple(pair) for pair in tables.pair_list} >= {(s, b) for _c, s, b in pairs}
    assert stored_core_customers(data.tenant.distributor, data.run) == {
        c.pk: (c.customer_id, c.name, score) for c, score in scores_of(data.run).items() if data.segment[c.pk] == "core"
    }


@pytest.mark.parametrize("choice", [*CHOICES, CutChoice(product=["P01"], supplier=["S2"])], ids=lambda c: repr(c))
def test_cut_impact_from_the_tables_is_the_cut_impact_from_the_lines(data, choice):
    from_lines = impact(data, choice)
    write(data)
    with scopes_disabled():
        assert ops.cut_tables(distributor=data.tenant.distributor, run=data.run) is not None
    from_tables = impact(data, choice)
    assert from_tables == from_lines
    # and both are the naive sums (test_figures checks every field of the lines' version)
    expected = naive_cut(data, choice)
    assert from_tables["total"]["customers"] == len(expected)
    assert from_tables["total"]["revenue"] == sum((v["revenue"] for v in expected.values()), Decimal(0)).quantize(
        Decimal("0.01")
    )


def test_a_preview_run_has_its_own_tables(data):
    write(data)
    # A what-if preview of the same tenant: every customer core but the lapsed ones.
    segment = {pk: ("lapsed" if s == "lapsed" else "core") for pk, s in data.segment.items()}
    preview = make_run(
        data.tenant.distributor,
        {c: {"segment": segment[c.pk]} for c in data.customers},
        publish=False,
        as_of=data.run.as_of,
        settings=RATES,
    )
    write(data, preview)
    assert stored_pairs(data.tenant.distributor, preview) == naive_pairs(data, segment)
    assert stored_core_products(data.tenant.distributor, preview) == naive_core_products(data, segment)
    assert set(stored_core_customers(data.tenant.distributor, preview)) == {
        pk for pk, s in segment.items() if s == "core"
    }
    # the published run's rows are untouched
    assert stored_pairs(data.tenant.distributor, data.run) == naive_pairs(data, data.segment)
    choice = CutChoice(supplier=["S1"])
    core = sorted(c.customer_id for c in data.customers if c.pk in naive_cut(data, choice) and segment[c.pk] == "core")
    assert impact(data, choice, preview)["core_customers"] == core


def test_tenants_never_mix(data, tenant_b):
    other = build(tenant_b, seed=11)  # the same SKUs, suppliers and brands, other lines
    write(data)
    write(other)
    assert stored_pairs(data.tenant.distributor, data.run) == naive_pairs(data, data.segment)
    assert stored_pairs(other.tenant.distributor, other.run) == naive_pairs(other, other.segment)
    with scopes_disabled():
        assert not CutPair.objects.filter(distributor=data.tenant.distributor, run=other.run).exists()
        ours = set(CutPair.objects.filter(distributor=data.tenant.distributor).values_list("customer_id", flat=True))
    assert ours <= {c.pk for c in data.customers}
    choice = CutChoice(supplier=["S1"], product=["P03"])
    expected = naive_cut(data, choice)
    result = impact(data, choice)
    assert result["total"]["customers"] == len(expected)
    assert {r["customer_id"] for r in result["customers"]} <= {c.customer_id for c in data.customers}


def test_an_import_since_the_tables_sends_the_cut_back_to_the_lines(data):
    write(data)
    with scopes_disabled():
        Job.objects.create(
            distributor=data.tenant.distributor,
            kind="import",
            status=Job.Status.SUCCEEDED,
            finished_at=data.run.created_at,
        )
        fresh = type(data.tenant.distributor).objects.get(pk=data.tenant.distributor.pk)  # no memo of the stamp
        assert ops.cut_tables(distributor=fresh, run=data.run) is None


def test_rewriting_replaces_the_rows(data):
    first = write(data)
    second = write(data)
    with scopes_disabled():
        assert RunCutTables.objects.filter(distributor=data.tenant.distributor, run=data.run).count() == 1
        assert CutPair.objects.filter(distributor=data.tenant.distributor, run=data.run).count() == second.pairs
    assert first.pairs == second.pairs


def test_the_job_writes_the_tables_once(data):
    with scopes_disabled():
        job = Job.objects.create(
            distributor=data.tenant.distributor,
            kind=CUT_TABLES_JOB_KIND,
            params={"run": data.run.number},
            status=Job.Status.RUNNING,  # as a worker claimed it
        )
        result = cut_tables_job(job, ProgressReporter(job))
        assert result["pairs"] == len(naive_pairs(data, data.segment))
        assert (
            job.message
            == f"Run #{data.run.number}: supplier cuts ready ({result['pairs']:,} customer and supplier pairs)"
        )
        assert cut_tables_job(job, ProgressReporter(job)) == {"run": data.run.number, "already": True}


def test_a_succeeded_run_enqueues_the_job_that_writes_its_tables(data):
    from segments import services
    from segments.models import CustomerScore
    from stratify.jobs.services import job_execute

    distributor = data.tenant.distributor
    with scopes_disabled():
        run = services.run_request(distributor=distributor, dispatch=False, publish=False, as_of=data.run.as_of)
    job_execute(run.job_id)
    with scopes_disabled():
        run.refresh_from_db()
        job = Job.objects.get(distributor=distributor, kind=CUT_TABLES_JOB_KIND)
        assert job.params == {"run": run.number}
        segment = dict(
            CustomerScore.objects.filter(distributor=distributor, run=run).values_list("customer_id", "segment")
        )
    job_execute(job.pk)
    with scopes_disabled():
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED
    assert stored_pairs(distributor, run) == naive_pairs(data, segment)


def test_tied_alternatives_are_broken_by_sku_both_ways(tenant_b):
    """Two uncut products of the cut's category with the same core customers and revenue: with room
    for one alternative, the lower SKU, whether read from the lines or from the tables."""
    from datetime import timedelta

    from sales.models import Customer, InvoiceLine, Product
    from tests.operations.conftest import AS_OF

    d = tenant_b.distributor
    with scopes_disabled():
        customer = Customer.objects.create(distributor=d, customer_id="T1", name="Tied")
        cut = Product.objects.create(distributor=d, product_id="CUT", category="Pipe", supplier_id="SX", brand="B")
        later = Product.objects.create(distributor=d, product_id="ZED", category="Pipe", supplier_id="SY", brand="B")
        earlier = Product.objects.create(distributor=d, product_id="ALF", category="Pipe", supplier_id="SY", brand="B")
        for n, product in enumerate([cut, later, earlier]):
            InvoiceLine.objects.create(
                distributor=d,
                customer=customer,
                product=product,
                invoice_id=f"I{n}",
                line_no=n,
                invoice_date=AS_OF - timedelta(days=3),
                quantity=Decimal(1),
                revenue=Decimal("10.00"),
                cost=Decimal("6.00"),
            )
    run = make_run(d, {customer: {"segment": "core"}}, as_of=AS_OF, settings=RATES)
    choice = CutChoice(supplier=["SX"])
    with scopes_disabled():
        from_lines = ops.cut_alternatives(distributor=d, run=run, choice=choice, limit=1)
        tables = cut_tables_write(distributor=d, run=run)
        from_tables = ops.cut_alternatives(distributor=d, run=run, choice=choice, limit=1, tables=tables)
    assert [a["product_id"] for a in from_lines] == ["ALF"]
    assert from_tables == from_lines


def test_the_command_writes_a_runs_tables_in_the_foreground(data):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("cut_tables", data.tenant.distributor.slug, stdout=out)
    assert (
        f"Run #{data.run.number}: {len(naive_pairs(data, data.segment)):,} customer x supplier x brand"
        in out.getvalue()
    )
    assert stored_pairs(data.tenant.distributor, data.run) == naive_pairs(data, data.segment)
    call_command("cut_tables", data.tenant.distributor.slug, str(data.run.number), stdout=out)
    assert "already written" in out.getvalue()
