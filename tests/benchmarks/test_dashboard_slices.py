"""Issue 16, item 6: the dashboard sliced by branch, class, region and assigned rep: each slice's
figures are its customers' (naive), the slices add up to the whole, and bad input is a 400 naming
what is allowed."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.pages.conftest import login

from .data import BOOK, build, money

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("by,column", [("branch", None), ("customer_class", 8), ("region", 9), ("rep", 0)])
def test_dashboard_slices_add_up(tenant_a, by, column):
    build(tenant_a)
    client = login(tenant_a.manager)
    url = reverse("dashboard", kwargs={"tenant": tenant_a.slug})
    whole = client.get(url).context["summary"]
    bad = client.get(url, {"slice_by": by, "slice": "nonesuch"})
    assert bad.status_code == 400 and "use one of" in bad.context["slice_error"]
    values = bad.context["slice_choices"][by]
    counts, net_profit = {}, Decimal(0)
    for value in values:
        response = client.get(url, {"slice_by": by, "slice": value})
        assert response.status_code == 200
        summary = response.context["summary"]
        for row in summary["rows"]:
            counts[row["segment"]] = counts.get(row["segment"], 0) + row["count"]
        net_profit += Decimal(repr(summary["totals"]["net_profit"]))
        if column is not None:  # the slice holds exactly the book's customers of that value
            mapping = {"r1": "alpha-R1", "r2": "alpha-R2", None: "(none)"}
            keep = [v for v in BOOK.values() if (mapping[v[0]] if column == 0 else (v[column] or "(none)")) == value]
            assert summary["totals"]["count"] == len(keep)
            assert Decimal(repr(summary["totals"]["net_profit"])).quantize(Decimal("0.01")) == sum(
                (money(v[6]) for v in keep), Decimal(0)
            ).quantize(Decimal("0.01"))
        quadrant = client.get(
            reverse("dashboard-quadrant", kwargs={"tenant": tenant_a.slug}), {"slice_by": by, "slice": value}
        )
        points = sum(len(d["points"]) for d in json.loads(quadrant.content)["datasets"])
        assert points == sum(r["count"] for r in summary["rows"] if r["segment"] != "lapsed")
    assert counts == {r["segment"]: r["count"] for r in whole["rows"]}
    assert net_profit.quantize(Decimal("0.01")) == Decimal(repr(whole["totals"]["net_profit"])).quantize(
        Decimal("0.01")
    )


def test_unknown_slice_dimension(tenant_a):
    build(tenant_a)
    client = login(tenant_a.manager)
    response = client.get(reverse("dashboard", kwargs={"tenant": tenant_a.slug}), {"slice_by": "colour", "slice": "x"})
    assert response.status_code == 400 and "branch, customer_class, region, rep" in response.content.decode()
    quadrant = client.get(reverse("dashboard-quadrant", kwargs={"tenant": tenant_a.slug}), {"slice_by": "colour"})
    assert quadrant.status_code == 400
