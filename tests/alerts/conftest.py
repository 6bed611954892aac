"""Fixtures of the alerts tests: hand-made alerts for the two tenants of tests/conftest.py (one on the
rep's assigned customer, one on another rep's customer, one distributor-wide)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from alerts.models import Alert
from segments.models import StratificationProfile, StratificationRun


def make_alerts(tenant) -> dict:
    with scopes_disabled():
        run = StratificationRun.objects.create(
            distributor=tenant.distributor, status="succeeded", as_of=date(2026, 6, 30), published_at=timezone.now(),
            settings={"window_days": 365},
        )  # fmt: skip
        StratificationProfile.objects.update_or_create(distributor=tenant.distributor, defaults={"current_run": run})

        def alert(kind, customer, subject_type, subject, amount, severity="high"):
            return Alert.objects.create(
                distributor=tenant.distributor, kind=kind, severity=severity,
                key=f"{customer.pk if customer else ''}|{subject_type}|{subject}", customer=customer,
                subject_type=subject_type, subject=subject, rep=customer.rep if customer else None,
                segment="core" if customer else "", raised_run=run, last_run=run, amount=Decimal(amount),
                figures={"days_since_last_order": 80}, message=f"{kind} on {subject}",
            )  # fmt: skip

        c1, c2 = tenant.assigned_customer, tenant.unassigned_customer
        return {
            "run": run,
            "mine": alert("overdue", c1, "customer", c1.customer_id, "1200.50"),
            "mine_gap": alert("category_gap", c1, "category", "Tools", "300", severity="low"),
            "other": alert("slipping", c2, "customer", c2.customer_id, "5000"),
            "wide": alert("core_slowdown", None, "brand", "Acme", "9000"),
        }


@pytest.fixture
def alerts_a(tenant_a):
    return make_alerts(tenant_a)


@pytest.fixture
def alerts_b(tenant_b):
    return make_alerts(tenant_b)
