"""The assignment stamp (sales.selectors.assignment_stamp) keys what pages cache of the customers'
reps: it is read from the database at most once per few seconds, and every write of the app that adds
or re-assigns customers drops it, so the change shows at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from sales.selectors import assignment_stamp
from sales.services import customers_assign_rep
from tests import factories as f
from tests.imports.conftest import run_import, write_file  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def stamp_queries(distributor) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx, scopes_disabled():
        stamp = assignment_stamp(distributor)
    return stamp, len(ctx.captured_queries)


def test_read_once_then_cached(tenant_a):
    first, queries = stamp_queries(tenant_a.distributor)
    assert queries == 1
    assert stamp_queries(tenant_a.distributor) == (first, 0)


def test_app_writes_drop_it(tenant_a, run_import, django_capture_on_commit_callbacks):  # noqa: F811
    d = tenant_a.distributor
    seen = {stamp_queries(d)[0]}

    def changed() -> bool:
        stamp, _ = stamp_queries(d)
        new = stamp not in seen
        seen.add(stamp)
        return new

    with scopes_disabled():  # the rep assignment page's bulk update
        customers_assign_rep(distributor=d, customer_ids=["alpha-C1"], rep=tenant_a.other_rep)
    assert changed()
    with scopes_disabled():  # a customer saved through the ORM, and a new one
        customer = tenant_a.unassigned_customer
        customer.rep = tenant_a.rep
        customer.save()
    assert changed()
    with scopes_disabled():
        f.CustomerFactory(distributor=d, customer_id="alpha-NEW", rep=tenant_a.rep)
    assert changed()
    # An import that gives a customer another rep (its merge is SQL: no ORM signal).
    with django_capture_on_commit_callbacks(execute=True):
        job = run_import(tenant_a, "customers", f"customer_id,name,rep_id\nalpha-C1,One,{tenant_a.rep.rep_id}\n")
    assert job.status == "succeeded", job.message
    assert changed()
