"""The line summaries an import keeps (`sales.summaries`): after every kind of import they equal a full
recomputation from the lines, and the stratification aggregates read from them equal the engine's own
aggregation of the lines."""

from datetime import date

import pytest
from django_scopes import scopes_disabled

from sales import summaries
from sales.models import CustomerCategory, CustomerInvoice, CustomerMonth, CustomerProductRecency
from segments.aggregates import customer_aggregates
from stratify.engine import aggregate_lines
from tests.segments.helpers import lines_frame, potentials

pytestmark = pytest.mark.django_db

HEADER = "invoice_id,invoice_date,customer_id,product_id,category,quantity,revenue,cost,ship_method\n"
FIRST = HEADER + (
    "A1,2026-01-05,C-1,P-1,Pipe,2,100.25,60,truck\n"
    "A1,2026-01-05,C-1,P-2,Valves,1,50,30,parcel\n"
    "A2,2026-02-11,C-1,P-1,Pipe,-1,-40,-25,truck\n"  # a return
    "A3,2026-03-01,C-2,P-3,,3,75.5,40,\n"  # no category
    "A4,2026-03-01,C-2,P-1,Pipe,1,10,5,truck\n"
    "A4,2026-03-09,C-2,P-2,Valves,1,10,5,truck\n"  # one invoice on two dates
)
SECOND = HEADER + (
    "B1,2026-04-02,C-1,P-3,,1,20,10,truck\n"  # an existing customer buys more
    "B2,2026-04-03,C-3,P-2,Valves,4,400,100,will_call\n"  # a new customer
)
SUMMARIES = {
    "invoices": (CustomerInvoice, "customer_id", "invoice_id", "invoice_date", "ship_method"),
    "products": (CustomerProductRecency, "customer_id", "last_kept"),
    "categories": (CustomerCategory, "customer_id", "category"),
    "months": (CustomerMonth, "customer_id", "month"),
}


def snapshot(distributor) -> dict[str, list[tuple]]:
    """Every summary row of the tenant (all fields but the surrogate id), in key order."""
    result = {}
    with scopes_disabled():
        for name, (model, *key) in SUMMARIES.items():
            fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
            result[name] = list(model.objects.filter(distributor=distributor).order_by(*key).values_list(*fields))
    return result


def assert_fresh(distributor) -> dict[str, list[tuple]]:
    """The summaries equal a full recomputation, and are not empty."""
    kept = snapshot(distributor)
    summaries.refresh_tenant(distributor)
    assert snapshot(distributor) == kept
    assert all(kept.values()), kept
    return kept


def test_summaries_follow_every_import(tenant_a, run_import):
    distributor = tenant_a.distributor
    run_import(tenant_a, "invoice_lines", FIRST)
    first = assert_fresh(distributor)
    assert len(first["invoices"]) == 6  # A1 has a row per ship method, A4 a row per date
    with scopes_disabled():
        a4 = CustomerInvoice.objects.filter(distributor=distributor, invoice_id="A4")
        assert {row.multi_date for row in a4} == {True}
        a2 = CustomerInvoice.objects.get(distributor=distributor, invoice_id="A2")
        assert (a2.kept_lines, a2.return_lines, a2.order_lead, a2.multi_date) == (0, 1, False, False)
        a1 = CustomerInvoice.objects.filter(distributor=distributor, invoice_id="A1")
        assert sorted((row.ship_method, row.order_lead, row.revenue_units) for row in a1) == [
            ("parcel", True, 500_000),  # "parcel" < "truck": one lead row per invoice
            ("truck", False, 1_002_500),
        ]

    # New lines only touch their own customers; the refresh of just those equals a full one.
    run_import(tenant_a, "invoice_lines", SECOND)
    second = assert_fresh(distributor)
    assert len(second["invoices"]) == 8

    # A product changes category: the customers' categories follow.
    run_import(tenant_a, "products", "product_id,category\nP-3,Tools\n")
    third = assert_fresh(distributor)
    with scopes_disabled():
        categories = set(
            CustomerCategory.objects.filter(distributor=distributor, customer__customer_id="C-2").values_list(
                "category", flat=True
            )
        )
    assert categories == {"Pipe", "Valves", "Tools"}
    assert third["invoices"] == second["invoices"]

    # An updated line (it moves to another customer) refreshes the whole tenant.
    run_import(tenant_a, "invoice_lines", HEADER + "B1,2026-04-02,C-3,P-3,,1,20,10,truck\n")
    assert_fresh(distributor)
    for as_of, window_days in ((date(2026, 4, 3), 365), (date(2026, 3, 5), 40), (date(2026, 3, 1), 3)):
        sql_agg, sql_del = customer_aggregates(distributor=distributor, as_of=as_of, window_days=window_days)
        py_agg, py_del = aggregate_lines(
            lines_frame(distributor), as_of=as_of, window_days=window_days, potential=potentials(distributor)
        )
        assert sql_agg.to_dict("records") == py_agg.to_dict("records"), (as_of, window_days)
        assert sql_del.to_dict("records") == py_del.to_dict("records"), (as_of, window_days)


def test_summaries_belong_to_their_tenant(tenant_a, tenant_b, run_import):
    run_import(tenant_a, "invoice_lines", FIRST)
    run_import(tenant_b, "invoice_lines", SECOND)
    a, b = snapshot(tenant_a.distributor), snapshot(tenant_b.distributor)
    summaries.refresh_tenant(tenant_a.distributor)  # refreshing one tenant leaves the other alone
    assert snapshot(tenant_b.distributor) == b
    assert {row[1] for row in a["invoices"]}.isdisjoint({row[1] for row in b["invoices"]})  # customer pks
