"""`raise_alerts SLUG [RUN_ID|latest]` (foreground, counts per kind, idempotent) and
`export_alerts SLUG FILE.csv [--status open]` (exactly the issue's columns)."""

from __future__ import annotations

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from alerts.models import KINDS, Alert
from tests.alerts.helpers import AS_OF, catalog, history, publish_run
from tests.alerts.test_life_cycle import PATTERNS
from tests.factories import DistributorFactory
from tests.segments.helpers import write_lines

pytestmark = pytest.mark.django_db


def test_raise_and_export(tmp_path):
    distributor = DistributorFactory(slug="cmd")
    _, customers, products = catalog(distributor, len(PATTERNS))
    write_lines(distributor, history(customers, products, PATTERNS))
    with pytest.raises(CommandError, match="No published run"):
        call_command("raise_alerts", "cmd")
    run = publish_run(distributor, as_of=AS_OF)
    out = StringIO()
    call_command("raise_alerts", "cmd", stdout=out)
    lines = out.getvalue().splitlines()
    with scopes_disabled():
        counts = {k: Alert.objects.filter(distributor=distributor, kind=k).count() for k in KINDS}
    for kind in KINDS:
        assert f"{kind}: {counts[kind]}" in lines
    assert f"total: {sum(counts.values())}" in lines and sum(counts.values()) > 0
    again = StringIO()
    call_command("raise_alerts", "cmd", str(run.number), stdout=again)
    assert "already raised" in again.getvalue()
    with pytest.raises(CommandError, match="No run"):
        call_command("raise_alerts", "cmd", "99")

    with scopes_disabled():
        alert = Alert.objects.filter(distributor=distributor).order_by("-amount").first()
        alert.status = "done"
        alert.save()
    path = tmp_path / "alerts.csv"
    call_command("export_alerts", "cmd", str(path), "--status", "open", stdout=StringIO())
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["kind", "severity", "subject_type", "subject", "customer_id", "amount", "status", "message"]
    assert len(rows) - 1 == sum(counts.values()) - 1
    assert {r[6] for r in rows[1:]} == {"open"}
    with scopes_disabled():
        expected = {
            (a.kind, a.subject, a.customer.customer_id if a.customer else "", f"{a.amount:.2f}")
            for a in Alert.objects.filter(distributor=distributor, status="open").select_related("customer")
        }
    assert {(r[0], r[3], r[4], r[5]) for r in rows[1:]} == expected
    call_command("export_alerts", "cmd", str(path), stdout=StringIO())
    with open(path, newline="", encoding="utf-8") as handle:
        assert len(list(csv.reader(handle))) - 1 == sum(counts.values())
