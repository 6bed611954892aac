"""The demo distributor tells the alerts' story at once (issue 15, item 7): after setup_demo's two
published runs, core accounts that went quiet are overdue or slipping, core accounts leak their main
category, the planted brand slows among core customers, replenishment is due, and customers moved down."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from accounts.models import Distributor
from alerts.models import Alert
from imports.demo import DemoDistributor

pytestmark = pytest.mark.django_db


def test_demo_shows_every_story():
    end = date(2026, 6, 30)
    call_command("demo_data", "story", customers=400, lines=40_000, seed=7, end_date=end, stdout=StringIO())
    call_command("stratify", "story", publish=True, as_of=date(2026, 3, 30), stdout=StringIO())
    call_command("stratify", "story", publish=True, stdout=StringIO())
    out = StringIO()
    call_command("raise_alerts", "story", "latest", stdout=out)
    demo = DemoDistributor(customers=400, lines=40_000, seed=7, end_date=end)
    with scopes_disabled():
        distributor = Distributor.objects.get(slug="story")
        alerts = Alert.objects.filter(distributor=distributor).select_related("customer")
        by_kind = {}
        for a in alerts:
            by_kind.setdefault(a.kind, []).append(a)
    quiet = set(demo.customer_ids[demo.story_quiet])
    leak = set(demo.customer_ids[demo.story_leak])
    quiet_hits = {a.customer.customer_id for k in ("overdue", "slipping") for a in by_kind.get(k, [])} & quiet
    assert len(quiet_hits) >= 2, out.getvalue()
    assert len({a.customer.customer_id for a in by_kind.get("category_leakage", [])} & leak) >= 2, out.getvalue()
    brand = demo.brand_names[demo.story_brand]
    assert any(a.subject_type == "brand" and a.subject == brand for a in by_kind.get("core_slowdown", [])), (
        brand,
        [(a.subject_type, a.subject) for a in by_kind.get("core_slowdown", [])],
        out.getvalue(),
    )
    assert by_kind.get("replenishment_due") and by_kind.get("moved_down"), out.getvalue()
