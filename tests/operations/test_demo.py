"""The demo distributor (issue 17): it gets inventory with scarce items, and non-stock items that core
customers buy repeatedly, so the operations pages show something on first login."""

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from accounts.models import Distributor
from operations import selectors as ops
from sales.models import Inventory, Product
from segments.selectors import published_runs
from segments.vocabulary import SEGMENT_RANK

pytestmark = pytest.mark.django_db


def test_demo_has_scarce_stock_and_non_stock_items_core_customers_buy():
    call_command("setup_demo", customers=120, lines=12000)
    with scopes_disabled():
        demo = Distributor.objects.get(slug="demo")
        assert Inventory.objects.filter(distributor=demo).exists()
        run, _ = published_runs(distributor=demo)
        products, allocation = ops.scarce_stock(distributor=demo, run=run)
        assert products and any(p["core_short"] > 0 for p in products)
        ranks = {}
        for row in allocation:  # served core first, then by segment order
            ranks.setdefault((row["product_id"], row["branch"]), []).append(SEGMENT_RANK[row["segment"]])
        assert all(r == sorted(r) for r in ranks.values()) and any(r[0] == 0 for r in ranks.values())
        lists = ops.stock_recommendations(distributor=demo, run=run)
        assert lists["to_stock"], "core customers buy non-stock items repeatedly"
        non_stock = set(Product.objects.filter(distributor=demo, is_stock=False).values_list("product_id", flat=True))
        assert {r["product_id"] for r in lists["to_stock"]} <= non_stock
        supplier = (
            Product.objects.filter(distributor=demo).exclude(supplier_id="").values_list("supplier_id", flat=True)[0]
        )
        impact = ops.cut_impact(distributor=demo, run=run, choice=ops.CutChoice(supplier=[supplier]))
        assert impact["core_customers"]
