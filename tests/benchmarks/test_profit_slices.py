"""Issue 16, item 6: the profit centers page sliced: a customer-level dimension's values recomputed for
the slice's customers from the run's per-customer figures (naive sums over the book), slices adding
up to the whole; a line-level dimension or an unknown slice is a 400 naming what is allowed."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.pages.conftest import login

from .data import BOOK, build, money

pytestmark = pytest.mark.django_db


def table(response):
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_sliced_profit_centers_match_the_book_and_add_up(tenant_a):
    build(tenant_a)
    client = login(tenant_a.manager)
    url = reverse("profit-centers", kwargs={"tenant": tenant_a.slug})
    totals = {}
    for region in ("East", "West", "North", "(none)"):
        response = client.get(
            url, {"dimension": "customer_class", "slice_by": "region", "slice": region, "export": "csv"}
        )
        assert response.status_code == 200
        for row in table(response):
            keep = [
                v for v in BOOK.values() if (v[9] or "(none)") == region and v[8] == row["Value"] and v[1] != "lapsed"
            ]
            assert int(row["Customers"]) == len(keep)
            want = sum((money(v[6]) for v in keep), Decimal(0)).quantize(Decimal("0.01"))
            assert Decimal(row["Net profit (USD)"]) == want
            totals[row["Value"]] = totals.get(row["Value"], Decimal(0)) + Decimal(row["Net profit (USD)"])
    for klass in ("contractor", "retail", "oem"):
        keep = [v for v in BOOK.values() if v[8] == klass and v[1] != "lapsed"]
        assert totals[klass] == sum((money(v[6]) for v in keep), Decimal(0)).quantize(Decimal("0.01"))
    page = client.get(url, {"dimension": "segment", "slice_by": "rep", "slice": "alpha-R1"})
    assert page.status_code == 200 and "slice-note" in page.content.decode()
    assert page.context["report"]["count"] == 3  # core, marginal, service drain among R1's ranked customers


def test_sliced_profit_centers_bad_input(tenant_a):
    build(tenant_a)
    client = login(tenant_a.manager)
    url = reverse("profit-centers", kwargs={"tenant": tenant_a.slug})
    line_level = client.get(url, {"dimension": "category", "slice_by": "region", "slice": "East"})
    assert line_level.status_code == 400 and "customer_class, supply_chain_role" in line_level.content.decode()
    unknown = client.get(url, {"dimension": "region", "slice_by": "region", "slice": "Mars"})
    assert unknown.status_code == 400 and "East" in unknown.content.decode()
