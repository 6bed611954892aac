"""The database's per-customer aggregates (SQL GROUP BY) equal the engine's pandas aggregate_lines on
the same lines, on whichever backend the suite runs (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.aggregates import customer_aggregates, latest_invoice_date
from stratify.engine import AGGREGATE_COLUMNS, DELIVERY_COLUMNS, aggregate_lines
from tests.factories import DistributorFactory
from tests.segments.helpers import AS_OF, lines_frame, make_catalog, potentials, simple_lines, write_lines


def assert_same(distributor, *, as_of, window_days):
    sql_agg, sql_del = customer_aggregates(distributor=distributor, as_of=as_of, window_days=window_days)
    py_agg, py_del = aggregate_lines(
        lines_frame(distributor), as_of=as_of, window_days=window_days, potential=potentials(distributor)
    )
    assert list(sql_agg.columns) == list(AGGREGATE_COLUMNS)
    assert list(sql_del.columns) == list(DELIVERY_COLUMNS)
    assert sql_agg["customer_id"].tolist() == py_agg["customer_id"].tolist()
    for column in AGGREGATE_COLUMNS:
        got, want = sql_agg[column].tolist(), py_agg[column].tolist()
        # Decimals compare by value (Decimal("1.5000") == Decimal("1.5")); None stays None.
        assert got == want, (column, got, want)
    for column in ("revenue", "prior_revenue", "gross_margin", "ar_base"):
        assert all(isinstance(v, Decimal) for v in sql_agg[column]), column
    pd.testing.assert_frame_equal(sql_del, py_del, check_dtype=False)
    return sql_agg, sql_del


@pytest.fixture
def tenant(db):
    return DistributorFactory(slug="agg")


def test_fixed_data_matches_engine(tenant):
    customers, products = make_catalog(tenant)
    write_lines(tenant, simple_lines(customers, products))
    agg, deliveries = assert_same(tenant, as_of=AS_OF, window_days=365)
    assert latest_invoice_date(distributor=tenant) == AS_OF
    assert (agg["window_lines"] > 0).sum() == len(customers) - 1  # the last customer is lapsed
    assert agg["categories"].max() == 3  # "" is not a category
    assert set(deliveries["ship_method"]) == {"", "truck", "parcel"}
    assert_same(tenant, as_of=AS_OF - timedelta(days=100), window_days=90)


def test_other_tenant_lines_are_ignored(tenant):
    customers, products = make_catalog(tenant, customers=3)
    write_lines(tenant, simple_lines(customers, products))
    other = DistributorFactory(slug="agg-other")
    o_customers, o_products = make_catalog(other, customers=5)
    write_lines(other, simple_lines(o_customers, o_products, per_customer=9))
    agg, _ = assert_same(tenant, as_of=AS_OF, window_days=365)
    assert len(agg) == 3


line = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 4),
        "product": st.integers(0, 4),
        "invoice": st.integers(0, 7),
        "age": st.integers(-20, 80),
        "quantity": st.sampled_from([Decimal(-2), Decimal(0), Decimal(1), Decimal("3.5")]),
        "revenue": st.decimals(min_value=-500, max_value=5000, places=4),
        "cost": st.decimals(min_value=0, max_value=4000, places=4),
        "ship_method": st.sampled_from(["", "truck", "parcel", "Truck"]),
        "special_order": st.booleans(),
        "days_to_pay": st.one_of(st.none(), st.integers(0, 120)),
    }
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(line, min_size=1, max_size=40),
    window_days=st.integers(1, 70),
    as_of_back=st.integers(0, 40),
    future_lines=st.booleans(),
)
def test_random_lines_match_engine(tenant, rows, window_days, as_of_back, future_lines):
    """Invoices over several dates, returns, windows shorter than a month and over several, as_of
    inside a month; with lines after as_of (products and categories then come from the lines) or
    without (from the product and category summaries): the counts must be exact either way."""
    as_of = AS_OF - timedelta(days=as_of_back)
    customers, products = make_catalog(tenant, customers=5, products=5)
    write_lines(
        tenant,
        [
            {
                "customer": customers[r["customer"]],
                "product": products[r["product"]],
                # invoices are shared across customers on purpose: orders are per customer
                "invoice_id": f"INV{r['invoice']}",
                "invoice_date": as_of - timedelta(days=r["age"] if future_lines else abs(r["age"])),
                "quantity": r["quantity"],
                "revenue": r["revenue"],
                "cost": r["cost"],
                "ship_method": r["ship_method"],
                "special_order": r["special_order"],
                "days_to_pay": r["days_to_pay"],
            }
            for r in rows
        ],
    )
    assert_same(tenant, as_of=as_of, window_days=window_days)


def test_lines_on_the_window_edges_count_exactly(tenant):
    """Purchases on the window's first day, the day before it, the first of a month and as_of itself,
    with as_of the latest line (the product and category summaries answer) and a day earlier (the
    lines do)."""
    customers, products = make_catalog(tenant, customers=3, products=4)
    window_days = 45
    start = AS_OF - timedelta(days=window_days - 1)
    rows = []
    for i, (customer, day, product) in enumerate(
        [
            (0, start, 0),  # bought on the window's first day only: counts
            (0, start - timedelta(days=1), 1),  # the day before: does not
            (1, start - timedelta(days=1), 2),
            (1, AS_OF.replace(day=1), 3),  # the first of as_of's month
            (2, AS_OF, 0),  # on as_of
            (2, AS_OF - timedelta(days=1), 1),
        ]
    ):
        rows.append(
            {
                "customer": customers[customer],
                "product": products[product],
                "invoice_id": f"E{i}",
                "invoice_date": day,
                "quantity": Decimal(1),
                "revenue": Decimal(10),
                "cost": Decimal(6),
                "ship_method": "truck",
                "special_order": False,
                "days_to_pay": 30,
            }
        )
    write_lines(tenant, rows)
    agg, _ = assert_same(tenant, as_of=AS_OF, window_days=window_days)
    assert agg.set_index("customer_id")["products"].to_dict() == {"C000": 1, "C001": 1, "C002": 2}
    assert_same(tenant, as_of=AS_OF - timedelta(days=1), window_days=window_days)
    assert_same(tenant, as_of=start, window_days=1)
