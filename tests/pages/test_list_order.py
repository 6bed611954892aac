"""The customer lists' default order is stored with the run (`CustomerScore.list_rank`) and a page of
it is read in two index-ordered parts (insights.customers.CustomerRows): both must give exactly the
order the lists had when they sorted every joined row (segment, revenue descending, account)."""

import math

import numpy as np
import pytest
from django.db.models import F
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from insights.customers import customer_rows
from segments.models import CustomerScore
from segments.services.score_writer import list_ranks
from segments.vocabulary import SEGMENT_RANK
from tests import factories as f
from tests.segments.helpers import make_catalog, simple_lines, write_lines
from tests.segments.test_runs import execute

from .conftest import login, make_run

pytestmark = pytest.mark.django_db

SEGMENTS = ["core", "opportunistic", "service_drain", "marginal", "lapsed"]


def naive_ranks(segments, revenues) -> list[int]:
    """Dense ranks of (segment order, revenue descending, missing last) by sorting tuples."""
    keys = [
        (SEGMENT_RANK.get(s, 9), r is None or (isinstance(r, float) and math.isnan(r)), -(r or 0.0))
        for s, r in zip(segments, revenues, strict=True)
    ]
    distinct = sorted(set(keys))
    return [distinct.index(k) + 1 for k in keys]


def test_list_ranks_are_dense_ranks_of_segment_then_revenue():
    rng = np.random.default_rng(3)
    segments = list(rng.choice(SEGMENTS, 300))
    revenues = [None if s == "lapsed" or rng.random() < 0.05 else float(rng.integers(0, 40)) for s in segments]
    assert list(list_ranks(segments, revenues)) == naive_ranks(segments, revenues)
    assert list(list_ranks([], [])) == []


def old_order(rows):
    """The lists' order before the ranks were stored: every joined row sorted in SQL."""
    return rows.order_by(F("seg_rank").asc(nulls_last=True), F("revenue").desc(nulls_last=True), "customer_id")


@pytest.fixture
def mixed(tenant_a):
    """30 more customers of the rep: ties on segment and revenue, lapsed ones (no revenue), and 7 with
    no score in the run at all."""
    d = tenant_a.distributor
    with scopes_disabled():
        customers = [
            f.CustomerFactory(distributor=d, rep=tenant_a.rep, customer_id=f"alpha-M{(i * 7) % 30:02d}")
            for i in range(30)
        ]
    rows = {}
    for i, customer in enumerate(customers[:23]):
        segment = SEGMENTS[i % 5]
        rows[customer] = {"segment": segment, "revenue": None if segment == "lapsed" else float(100 * (i % 3))}
    rows[tenant_a.assigned_customer] = {"segment": "core", "revenue": 100.0}
    make_run(d, rows)
    return tenant_a


@pytest.mark.parametrize("role", ["manager", "rep"])
def test_every_page_in_the_default_order_matches_the_sorted_join(mixed, role):
    d = mixed.distributor
    user = mixed.users()[role]
    with scope(distributor=d):
        from segments.selectors import published_runs

        run, _ = published_runs(distributor=d)
        membership = user.memberships.get(distributor=d)
        rows = customer_rows(distributor=d, membership=membership, run=run)
        expected = [c.pk for c in old_order(rows)]
        assert len(expected) > 25
        for size in (1, 4, 7, 25, 100):
            got = []
            for start in range(0, len(expected) + size, size):
                got += [c.pk for c in rows[start : start + size]]
            assert got == expected, size
        assert [c.pk for c in rows[3:]] == expected[3:]
        assert [c.pk for c in rows] == expected  # not sliced: plain SQL in the same order
        # Filtered lists too (a filter on the run's columns and one on the customer's).
        core = rows.filter(segment="core")
        assert [c.pk for c in core[0:5]] + [c.pk for c in core[5:50]] == [c.pk for c in old_order(core)]
        named = rows.filter(customer_id__startswith="alpha-M")
        assert [c.pk for c in named[0:20]] + [c.pk for c in named[20:40]] == [c.pk for c in old_order(named)]


def test_the_page_shows_the_default_order_across_pages(mixed):
    client = login(mixed.manager)
    url = reverse("my-customers", kwargs={"tenant": mixed.slug})
    shown = []
    for page in (1, 2, 3):
        response = client.get(url, {"per_page": 10, "page": page})
        shown += [row.record.pk for row in response.context["table"].page.object_list]
    d = mixed.distributor
    with scope(distributor=d):
        from segments.selectors import published_runs

        run, _ = published_runs(distributor=d)
        rows = customer_rows(distributor=d, membership=mixed.manager.memberships.get(distributor=d), run=run)
        assert shown == [c.pk for c in old_order(rows)][:30]


def test_a_real_run_stores_the_ranks_of_its_scores(tenant_a):
    """The score writer's ranks order the run's scores like the database sorts them."""
    customers, products = make_catalog(tenant_a.distributor)
    write_lines(tenant_a.distributor, simple_lines(customers, products))
    run = execute(tenant_a.distributor, actor=tenant_a.manager)
    with scopes_disabled():
        scores = list(CustomerScore.objects.filter(run=run).values_list("segment", "revenue", "list_rank"))
    assert len(scores) >= 10 and all(rank is not None for _, _, rank in scores)
    assert [rank for _, _, rank in scores] == naive_ranks([s for s, _, _ in scores], [r for _, r, _ in scores])
