"""The alerts API: who sees what (reps: their customers' alerts; another rep's is 404; customers:
403), filters and their 400s, status changes and their 400s, the settings and theirs."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from alerts.models import AlertSettings, AlertStatusChange
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def url(tenant, rest=""):
    return f"/api/v1/tenants/{tenant.slug}/alerts/{rest}"


def test_list_per_role(tenant_a, alerts_a, alerts_b):
    body = api_as(tenant_a.manager).get(url(tenant_a)).json()
    assert [a["kind"] for a in body["results"]] == ["core_slowdown", "slipping", "overdue", "category_gap"]
    first = body["results"][2]
    assert first["amount"] == "1200.50" and first["customer_id"] == tenant_a.assigned_customer.customer_id
    assert first["subject_type"] == "customer" and first["status"] == "open" and first["run"] == alerts_a["run"].number
    assert first["figures"] == {"days_since_last_order": 80} and first["message"]
    assert body["results"][0]["customer_id"] is None
    rep = api_as(tenant_a.rep_user).get(url(tenant_a)).json()
    assert sorted(a["kind"] for a in rep["results"]) == ["category_gap", "overdue"]  # no other rep's, no wide
    assert api_as(tenant_a.customer_user).get(url(tenant_a)).status_code == 403
    assert all(a["subject"] != "Acme" or a["id"] != alerts_b["wide"].pk for a in body["results"])


def test_other_tenant_is_404(tenant_a, tenant_b, alerts_a, alerts_b):
    assert api_as(tenant_a.manager).get(url(tenant_b)).status_code == 404
    theirs = alerts_b["mine"].pk
    response = api_as(tenant_a.manager).post(url(tenant_a, f"{theirs}/status/"), {"status": "done"}, format="json")
    assert response.status_code == 404


def test_filters(tenant_a, alerts_a):
    client = api_as(tenant_a.manager)
    assert [a["kind"] for a in client.get(url(tenant_a), {"kind": "overdue"}).json()["results"]] == ["overdue"]
    assert len(client.get(url(tenant_a), {"severity": "low"}).json()["results"]) == 1
    assert (
        len(client.get(url(tenant_a), {"customer_id": tenant_a.assigned_customer.customer_id}).json()["results"]) == 2
    )
    assert len(client.get(url(tenant_a), {"rep": tenant_a.other_rep.rep_id}).json()["results"]) == 1
    assert len(client.get(url(tenant_a), {"status": "done"}).json()["results"]) == 0
    bad = client.get(url(tenant_a), {"kind": "nope"})
    assert bad.status_code == 400 and "overdue" in bad.json()["detail"]
    assert client.get(url(tenant_a), {"status": "closed"}).status_code == 400


def test_status_changes(tenant_a, alerts_a):
    rep = api_as(tenant_a.rep_user)
    mine, other = alerts_a["mine"].pk, alerts_a["other"].pk
    assert rep.post(url(tenant_a, f"{other}/status/"), {"status": "done"}, format="json").status_code == 404
    no_note = rep.post(url(tenant_a, f"{mine}/status/"), {"status": "dismissed"}, format="json")
    assert no_note.status_code == 400 and "note" in no_note.json()["detail"]
    bad = rep.post(url(tenant_a, f"{mine}/status/"), {"status": "closed"}, format="json")
    assert bad.status_code == 400 and "acknowledged, done, dismissed" in bad.json()["detail"]
    done = rep.post(url(tenant_a, f"{mine}/status/"), {"status": "done", "note": "Called them"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    reopen = rep.post(url(tenant_a, f"{mine}/status/"), {"status": "open"}, format="json")
    assert reopen.status_code == 400 and "Only a manager" in reopen.json()["detail"]
    manager = api_as(tenant_a.manager)
    assert manager.post(url(tenant_a, f"{mine}/status/"), {"status": "open"}, format="json").json()["status"] == "open"
    with scopes_disabled():
        changes = list(AlertStatusChange.objects.filter(alert_id=mine).values_list("to_status", "note", "changed_by"))
    assert changes == [("done", "Called them", tenant_a.rep_user.pk), ("open", "", tenant_a.manager.pk)]
    assert api_as(tenant_a.customer_user).post(url(tenant_a, f"{mine}/status/"), {"status": "done"}).status_code == 403


def test_settings(tenant_a):
    manager = api_as(tenant_a.manager)
    body = manager.get(url(tenant_a, "settings/")).json()
    assert body["recent_days"] == 90 and body["slip_drop"] == 0.3 and body["overdue_min_orders"] == 4
    assert body["overdue_factor"] == 2.0 and body["leak_min_share"] == 0.05 and body["gap_core_share"] == 0.5
    assert body["near_core_gap"] == 0.05 and body["slowdown_drop"] == 0.2 and body["leak_drop"] == 0.5
    for field, value in (("slip_drop", 1.5), ("leak_min_share", 0), ("overdue_factor", -1), ("recent_days", 0),
                         ("slip_drop", "x"), ("unknown", 1)):  # fmt: skip
        bad = manager.patch(url(tenant_a, "settings/"), {field: value}, format="json")
        assert bad.status_code == 400 and bad.json()["detail"].startswith(field), (field, bad.json())
        assert field in bad.json()
    ok = manager.patch(url(tenant_a, "settings/"), {"slip_drop": "0.25", "recent_days": 60}, format="json")
    assert ok.status_code == 200 and ok.json()["slip_drop"] == 0.25 and ok.json()["recent_days"] == 60
    with scopes_disabled():
        assert AlertSettings.objects.get(distributor=tenant_a.distributor).recent_days == 60
    assert (
        api_as(tenant_a.rep_user).patch(url(tenant_a, "settings/"), {"slip_drop": 0.2}, format="json").status_code
        == 403
    )
