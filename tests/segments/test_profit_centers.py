"""Profit centers (PROFIT_CENTERS.md): the run's stored figures equal a naive, independent
implementation (tests/segments/profit_reference.py, exact fractions, line by line) on hand-made cases
and hypothesis data, and every dimension's values add up to the run's totals to the cent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.models import Partner
from sales.models import InvoiceLine, Rep
from segments import services
from segments.models import CustomerScore, ProfitCenter, StratificationRun
from segments.profit_centers import DIMENSIONS
from stratify.jobs.services import job_execute
from tests.factories import DistributorFactory
from tests.segments import profit_reference as ref
from tests.segments.helpers import AS_OF, make_catalog, run_profit_centers, simple_lines, write_lines

MONEY = ("revenue", "gross_margin", "cost_to_serve", "net_profit")


def execute(distributor, **kwargs) -> StratificationRun:
    with scope(distributor=distributor):
        run = services.run_request(distributor=distributor, dispatch=False, **kwargs)
    job_execute(run.job_id)
    run_profit_centers(run)
    with scopes_disabled():
        run.refresh_from_db()
    assert run.status == StratificationRun.Status.SUCCEEDED, run.message
    return run


def reference_lines(distributor) -> list[dict]:
    """The tenant's lines with every dimension's raw value, read naively through the ORM."""
    with scopes_disabled():
        out = []
        for x in InvoiceLine.objects.filter(distributor=distributor).select_related(
            "customer", "customer__rep", "product", "rep", "partner"
        ):
            c, p = x.customer, x.product
            out.append(
                {
                    "customer_id": c.customer_id,
                    "invoice_id": x.invoice_id,
                    "invoice_date": x.invoice_date,
                    "ship_method": x.ship_method,
                    "quantity": x.quantity,
                    "revenue": x.revenue,
                    "cost": x.cost,
                    "special_order": x.special_order,
                    "days_to_pay": x.days_to_pay,
                    "category": p.category,
                    "brand": p.brand,
                    "supplier": p.supplier_id,
                    "product": p.product_id,
                    "branch": x.branch,
                    "channel": x.channel,
                    "partner": x.partner.partner_id if x.partner else "",
                    "rep": x.rep.rep_id if x.rep else "",
                    "assigned_rep": c.rep.rep_id if c.rep else "",
                    "customer_class": c.customer_class,
                    "supply_chain_role": c.supply_chain_role,
                    "industry": c.industry,
                    "region": c.region,
                    "customer_branch": c.branch,
                }
            )
        return out


def stored(run, dimension: str) -> dict:
    with scopes_disabled():
        rows = ProfitCenter.objects.filter(run=run, dimension=dimension, by="")
        return {r.value or "(none)": r for r in rows}


def segments_of(run) -> dict:
    with scopes_disabled():
        return dict(CustomerScore.objects.filter(run=run).values_list("customer__customer_id", "segment"))


def assert_agrees(run, distributor, settings_dict=None, dimensions=tuple(DIMENSIONS)):
    lines, segs = reference_lines(distributor), segments_of(run)
    for dimension in dimensions:
        want = ref.figures(lines, segs, dimension, run.as_of, settings_dict)
        got = stored(run, dimension)
        assert set(got) == set(want), dimension
        for value, w in want.items():
            g = got[value]
            assert (g.customers, g.lines) == (w["customers"], w["lines"]), (dimension, value)
            for name in MONEY:
                assert Fraction(g.exact[name]) == w[name], (dimension, value, name)
                assert getattr(g, name) == ref.cents(w[name]), (dimension, value, name)
            for segment in ref.SEGMENT_NAMES:
                assert Decimal(g.segment_net_profit[segment]) == ref.cents(w[f"net_profit_{segment}"])
    return lines, segs


def assert_adds_up(run):
    """Every dimension's values add up exactly to the same totals, and per segment (value x segment
    cells) to the run's stored per-segment totals to the cent."""
    with scopes_disabled():
        rows = list(ProfitCenter.objects.filter(run=run).exclude(by="category"))
    overall = {}
    for dimension in DIMENSIONS:
        mine = [r for r in rows if r.dimension == dimension and r.by == ""]
        sums = {name: sum((Fraction(r.exact[name]) for r in mine), Fraction(0)) for name in MONEY}
        overall.setdefault("all", sums)
        assert sums == overall["all"], dimension
        for segment in ref.SEGMENT_NAMES:
            cells = [r for r in rows if r.dimension == dimension and r.by == "segment" and r.by_value == segment]
            for name in MONEY:
                exact = sum((Fraction(r.exact[name]) for r in cells), Fraction(0))
                assert ref.cents(exact) == Decimal(run.totals[segment][name]), (dimension, segment, name)


@pytest.fixture
def tenant(db):
    return DistributorFactory(slug="pc")


def _catalog(tenant):
    customers, products = make_catalog(tenant, customers=8, products=6)
    with scopes_disabled():
        reps = [Rep.objects.create(distributor=tenant, rep_id=f"R{i}") for i in range(2)]
        partner = Partner.objects.create(distributor=tenant, partner_id="PA1", name="Partner")
        for i, c in enumerate(customers):
            c.rep = reps[i % 2] if i % 3 else None
            c.region = ["West", "East", ""][i % 3]
            c.industry = ["HVAC", ""][i % 2]
            c.customer_class = ["contractor", "oem", ""][i % 3]
            c.supply_chain_role = ["end_user", "reseller", ""][i % 3]
            c.branch = ["Dallas", "Tulsa"][i % 2]
            c.save()
        for i, p in enumerate(products):
            p.brand = ["Acme", "", "Zed"][i % 3]
            p.supplier_id = ["S1", "S2", ""][i % 3]
            p.save()
    return customers, products, reps, partner


@pytest.fixture(params=["columnar", "per_table"])
def reader(request, monkeypatch):
    """Each reader of the lines: the columnar one (DuckDB, 128-bit integers), and the per-table one it
    leaves exact sums to when the numerators could outgrow 128 bits (forced by a zero bound)."""
    if request.param == "per_table":
        monkeypatch.setattr("segments.profit_centers.COLUMNAR_LIMIT", 0)
    return request.param


def test_hand_made_cases_agree_with_the_naive_implementation(tenant, reader):
    customers, products, reps, partner = _catalog(tenant)
    a, b, c = customers[0], customers[1], customers[2]
    day = AS_OF - timedelta(days=3)

    def line(customer, invoice, **kw):
        return {
            "customer": customer,
            "product": kw.pop("product", products[0]),
            "invoice_id": invoice,
            "invoice_date": kw.pop("date", day),
            "quantity": kw.pop("quantity", Decimal(1)),
            "revenue": kw.pop("revenue", Decimal("100.00")),
            "cost": kw.pop("cost", Decimal("60.00")),
            "ship_method": kw.pop("ship", "truck"),
            "special_order": kw.pop("special", False),
            "days_to_pay": kw.pop("days", None),
            **kw,
        }

    rows = [
        # One invoice shared by two customers, three ship methods, a return and a special order on it.
        line(a, "SH1", product=products[0], branch="Dallas", channel="web"),
        line(a, "SH1", product=products[1], branch="Dallas", ship="parcel", revenue=Decimal("33.3333")),
        line(a, "SH1", product=products[2], branch="Tulsa", ship="", special=True, days=45),
        line(a, "SH1", product=products[3], quantity=Decimal(-1), revenue=Decimal("-20.00"), cost=Decimal("-12")),
        line(b, "SH1", product=products[1], branch="Tulsa", rep=reps[1], partner=partner, days=7),
        line(b, "SH1", product=products[4], branch="Tulsa", ship="parcel", rep=reps[0]),
        # Three lines on one invoice and ship method: 20/3 and 15/3 per line, never exact decimals.
        line(c, "T3", product=products[2], revenue=Decimal("10.01")),
        line(c, "T3", product=products[3], revenue=Decimal("10.02"), channel="counter"),
        line(c, "T3", product=products[5], revenue=Decimal("10.03"), days=31),
        # A return alone on its invoice: no order and no delivery share.
        line(c, "R1", product=products[5], quantity=Decimal(-2), revenue=Decimal("-5.00"), cost=Decimal("-3")),
        # An invoice whose kept lines straddle the window's start: only the window's lines divide.
        line(customers[3], "X1", date=AS_OF - timedelta(days=364), product=products[1]),
        line(customers[3], "X1", date=AS_OF - timedelta(days=365), product=products[2]),
        line(customers[3], "X2", date=AS_OF, product=products[0], revenue=Decimal("7.00"), cost=Decimal("9")),
        # A lapsed customer (prior window only): in no value.
        line(customers[4], "L1", date=AS_OF - timedelta(days=400)),
    ]
    rows += [
        line(customers[5 + i % 3], f"M{i}", product=products[i % 6], ship=["truck", "air"][i % 2]) for i in range(9)
    ]
    write_lines(tenant, rows)
    run = execute(tenant)
    assert_agrees(run, tenant)
    assert_adds_up(run)
    assert "(none)" in stored(run, "brand") and "(none)" in stored(run, "partner")


def test_settings_with_delivery_rates_agree(tenant, reader):
    customers, products, _reps, _partner = _catalog(tenant)
    write_lines(tenant, simple_lines(customers, products))
    changed = {
        "delivery_cost": {"truck": "47.10", "parcel": "3.33"},
        "cost_per_order": "17.77",
        "ar_carrying_rate": "0.13",
    }
    with scope(distributor=tenant):
        services.settings_update(distributor=tenant, settings=changed, actor=None, partial=True)
    run = execute(tenant)
    assert_agrees(run, tenant, changed)
    assert_adds_up(run)


line_strategy = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 4),
        "product": st.integers(0, 4),
        "invoice": st.integers(0, 6),
        "age": st.integers(-5, 420),
        "quantity": st.sampled_from([Decimal(-2), Decimal(0), Decimal(1), Decimal("3.5")]),
        "revenue": st.decimals(min_value=-500, max_value=5000, places=4),
        "cost": st.decimals(min_value=0, max_value=4000, places=4),
        "ship_method": st.sampled_from(["", "truck", "parcel"]),
        "branch": st.sampled_from(["", "Dallas", "Tulsa"]),
        "special_order": st.booleans(),
        "days_to_pay": st.one_of(st.none(), st.integers(0, 120)),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(line_strategy, min_size=1, max_size=30))
def test_hypothesis_lines_agree_and_add_up(tenant, drawn):
    customers, products = make_catalog(tenant, customers=5, products=5)
    rows = [
        {
            "customer": customers[d["customer"]],
            "product": products[d["product"]],
            "invoice_id": f"H{d['invoice']}",
            "invoice_date": AS_OF - timedelta(days=d["age"]),
            "quantity": d["quantity"],
            "revenue": d["revenue"],
            "cost": d["cost"],
            "ship_method": d["ship_method"],
            "branch": d["branch"],
            "special_order": d["special_order"],
            "days_to_pay": d["days_to_pay"],
        }
        for d in drawn
    ]
    # The run's as_of is the latest invoice date: lines after AS_OF move it.
    write_lines(tenant, rows)
    if all(d["age"] < 0 for d in drawn):  # every line after AS_OF: a run as of AS_OF is refused, saying why
        with scope(distributor=tenant), pytest.raises(ValidationError, match="before the first invoice date"):
            services.run_request(distributor=tenant, dispatch=False, as_of=AS_OF)
        return
    with scope(distributor=tenant):
        run = services.run_request(distributor=tenant, dispatch=False, as_of=AS_OF)
    job_execute(run.job_id)
    with scopes_disabled():
        run.refresh_from_db()
    if run.status != StratificationRun.Status.SUCCEEDED:
        assert "nothing to rank" in run.message
        return
    run_profit_centers(run)
    with scopes_disabled():
        StratificationRun.objects.filter(distributor=tenant).exclude(pk=run.pk).delete()
    assert_agrees(run, tenant, dimensions=("category", "product", "branch", "ship_method", "segment", "region"))
    assert_adds_up(run)


def test_divided_shares_are_exact_with_small_and_huge_denominators():
    from segments.profit_centers import _divided_shares

    for ks in ((1, 2, 3, 8), (1_000_003, 999_983, 7_919_777_777, 3)):
        rows = [
            ("v", "", "core", k, ship, m, n)
            for k, ship, m, n in zip(ks, ("a", "", "a", "b"), (3, 1, 7, 2), (1, 2, 3, 4), strict=True)
        ]
        ((key, orders, deliveries),) = _divided_shares(rows)
        assert key == ("v", "", "core")
        assert orders == sum(Fraction(n, k) for _v, _o, _s, k, _sh, _m, n in rows)
        want = {}
        for _v, _o, _s, _k, ship, m, n in rows:
            want[ship] = want.get(ship, Fraction(0)) + Fraction(n, m)
        assert dict(deliveries) == want


def test_the_run_publishes_without_waiting_and_stale_data_is_refused(tenant):
    """The profit centers are a job after the run: the run is done (and published) before them, and
    the job refuses to describe data that changed since the run (an import landed)."""
    from stratify.jobs.models import Job
    from tests.segments.helpers import simple_lines

    customers, products, *_ = _catalog(tenant)
    write_lines(tenant, simple_lines(customers, products))
    with scope(distributor=tenant):
        run = services.run_request(distributor=tenant, dispatch=False, publish=True)
    job_execute(run.job_id)
    with scopes_disabled():
        run.refresh_from_db()
        assert run.status == StratificationRun.Status.SUCCEEDED and run.published_at is not None
        assert not ProfitCenter.objects.filter(run=run).exists()
        job = Job.objects.get(distributor=tenant, kind="profit_centers")
        assert job.params == {"run": run.number}
        Job.objects.create(distributor=tenant, kind="import", status=Job.Status.SUCCEEDED)  # an import landed
    job_execute(job.pk)
    with scopes_disabled():
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED and "data changed" in job.message
        assert not ProfitCenter.objects.filter(run=run).exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(10**9), 10**9), max_size=1500), st.integers(1, 10**6))
def test_whale_curve_against_a_naive_cumulative_sum(profits, unit):
    """The stored curve: peak, where it is, total, what drains give away (to the cent from the exact
    sums), at most CURVE_POINTS points with the peak and the last value among them."""
    from segments.profit_centers import CURVE_POINTS, cents, whale_curve

    profits = sorted(profits, reverse=True)
    labels = [f"v{i}" for i in range(len(profits))]
    curve = whale_curve(profits, unit, labels)
    running = [sum(Fraction(p, unit) for p in profits[:i]) for i in range(len(profits) + 1)]
    peak = max(running)  # running[0] == 0: the peak is never below zero
    peak_at = running.index(peak)
    assert curve["peak"] == cents(peak) and curve["peak_at"] == peak_at
    assert curve["total"] == cents(running[-1]) and curve["given_away"] == cents(peak - running[-1])
    assert (curve["values"], curve["centers"], curve["drains"]) == (
        len(profits),
        sum(p > 0 for p in profits),
        sum(p < 0 for p in profits),
    )
    positions = [p for p, _label, _value in curve["points"]]
    assert len(positions) <= CURVE_POINTS + 2 and positions == sorted(set(positions))
    if profits:
        assert positions[-1] == len(profits) and (peak_at == 0 or peak_at in positions)
    for position, label, value in curve["points"]:
        assert label == labels[position - 1] and Decimal(value) == cents(running[position])


def test_the_columnar_reader_steps_aside_when_numerators_could_outgrow_128_bits(tenant, monkeypatch):
    """Invoices of many different line counts make the common denominator (their lcm) huge: the columnar
    reader declines (None) rather than overflow, and the per-table reader's exact sums are used."""
    from segments import profit_centers as pc

    customers, products, _reps, _partner = _catalog(tenant)
    write_lines(tenant, simple_lines(customers, products))
    declined = []
    columnar = pc._read_columnar

    def spy(*args, **kwargs):
        declined.append(columnar(*args, **kwargs) is None)
        return None if declined[-1] else columnar(*args, **kwargs)

    monkeypatch.setattr(pc, "_read_columnar", spy)
    monkeypatch.setattr(pc, "COLUMNAR_LIMIT", 2)
    run = execute(tenant)
    assert declined == [True]
    assert_agrees(run, tenant)
    assert_adds_up(run)


def test_too_little_memory_fails_the_job_saying_which_setting_to_raise(tenant, settings):
    from stratify.jobs.models import Job

    customers, products, _reps, _partner = _catalog(tenant)
    write_lines(tenant, simple_lines(customers, products))
    settings.PROFIT_CENTERS_MEMORY = "1KB"
    with scope(distributor=tenant):
        run = services.run_request(distributor=tenant, dispatch=False)
    job_execute(run.job_id)
    run_profit_centers(run)
    with scopes_disabled():
        job = Job.objects.filter(distributor=tenant, kind="profit_centers").latest("pk")
        assert job.status == "failed"
        assert "PROFIT_CENTERS_MEMORY=1KB" in job.message
        assert not ProfitCenter.objects.filter(run=run).exists()
