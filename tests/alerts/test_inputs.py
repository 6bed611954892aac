"""What the rules read: `alerts.inputs.read_lines` gives every line of the span as the same integers on
both backends (PostgreSQL packs them into binary records, in parts of the table, over one or two
connections), and the rules' integer helpers (exact sums, distinct keys) agree with plain Python."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django_scopes import scopes_disabled

from alerts import inputs, rules
from alerts.rules import _compact, _distinct_dates, _sum_by
from sales.models import InvoiceLine
from tests.alerts.helpers import AS_OF, catalog
from tests.factories import DistributorFactory
from tests.segments.helpers import write_lines

DAYS = 730


def _rows(customers, products) -> list[dict]:
    """Lines on and around the span's edges: returns (negative quantity or revenue), a zero revenue,
    several lines of one (customer, product, day), money with four decimals, one line after as_of and
    one the day before the span starts."""
    rows = []
    ages = [0, 1, 89, 90, 364, 365, 366, 454, 455, 729, 730, -1]
    for i, age in enumerate(ages * 3):
        customer, product = customers[i % len(customers)], products[i % len(products)]
        quantity = Decimal(-2 if i % 7 == 3 else 3)
        revenue = Decimal(f"{(i * 37) % 900 - 50}.{(i * 7919) % 10000:04d}")
        if i % 11 == 5:
            revenue = Decimal("0")
        rows.append(
            {
                "customer": customer, "product": product, "invoice_id": f"I{i % 9}",
                "invoice_date": AS_OF - timedelta(days=age), "quantity": quantity, "revenue": revenue,
                "cost": Decimal("1.0000"), "ship_method": "truck", "special_order": False, "days_to_pay": None,
            }
        )  # fmt: skip
    # A second line of the same (customer, product, day) on another invoice, for a few of them.
    rows += [{**row, "invoice_id": "J", "revenue": Decimal("12.3456")} for row in rows[:3]]
    return rows


def _expected(distributor) -> list[tuple]:
    """The span's lines worked out in Python from the ORM's values."""
    start = AS_OF - timedelta(days=DAYS - 1)
    with scopes_disabled():
        values = InvoiceLine.objects.filter(
            distributor=distributor, invoice_date__gte=start, invoice_date__lte=AS_OF
        ).values_list("customer_id", "product_id", "invoice_date", "revenue", "quantity")
    return sorted(
        (c, p, (AS_OF - d).days, int(Decimal(r) * 10_000), int(q >= 0 and r >= 0)) for c, p, d, r, q in values
    )


def _read(distributor, **kwargs) -> list[tuple]:
    frame = inputs.read_lines(distributor=distributor, as_of=AS_OF, days=DAYS, **kwargs)
    assert list(frame.columns) == ["customer", "product", "age", "units", "kept"]
    assert all(str(dtype) == "int64" for dtype in frame.dtypes)
    return sorted(frame.itertuples(index=False, name=None))


def _tenant_with_lines():
    with scopes_disabled():
        distributor = DistributorFactory()
    _, customers, products = catalog(distributor, 4)
    write_lines(distributor, _rows(customers, products))
    return distributor


@pytest.mark.django_db
def test_read_lines_gives_every_line_of_the_span_as_integers():
    distributor = _tenant_with_lines()
    other = _tenant_with_lines()  # another tenant's lines are never read
    got = _read(distributor)
    assert got == _expected(distributor)
    assert len(got) == 33  # 39 lines less the 3 after as_of and the 3 before the span
    assert {row[4] for row in got} == {0, 1} and any(row[3] < 0 for row in got)
    assert _read(other) == _expected(other)


@pytest.mark.postgres  # the table is read in parts (TID ranges) on PostgreSQL only
@pytest.mark.django_db
def test_read_lines_in_parts_of_the_table(monkeypatch):
    distributor = _tenant_with_lines()
    monkeypatch.setattr(inputs, "_PAGES_PER_PART", 1)  # one statement per heap page
    assert _read(distributor) == _expected(distributor)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_read_lines_over_two_connections_sharing_the_snapshot():
    """Outside a caller's transaction (as the job runs) the two halves of the table are read at once,
    the second over another connection that imports this transaction's snapshot."""
    from stratify.db import read_snapshot

    distributor = _tenant_with_lines()
    expected = _expected(distributor)
    with read_snapshot():
        assert _read(distributor, parallel=True) == expected


def test_sum_by_is_exact_beyond_float_precision():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 5, 2000)
    units = rng.integers(-(2**50), 2**50, 2000)  # group sums far beyond 2**53
    expected = [sum(int(u) for c, u in zip(codes, units, strict=True) if c == code) for code in range(6)]
    assert _sum_by(codes, units, 6).tolist() == expected


def test_compact_and_distinct_dates_agree_with_python(monkeypatch):
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 50, 300)
    for size in (50, 10**9):  # counted, and sorted (a key range too large to count)
        uniques, index = _compact(keys, size)
        assert uniques.tolist() == sorted(set(keys.tolist()))
        assert (uniques[index] == keys).all()
    group, age = rng.integers(0, 7, 400), rng.integers(0, 30, 400)
    expected = sorted(set(zip(group.tolist(), age.tolist(), strict=True)))
    for limit in (1 << 26, 0):  # keys marked, and sorted
        monkeypatch.setattr(rules, "_MARK_LIMIT", limit)
        got_group, got_age = _distinct_dates(group, age)
        assert list(zip(got_group.tolist(), got_age.tolist(), strict=True)) == expected
