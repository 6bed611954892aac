# ruff: noqa: E501
"""The alert pages (insights): the rep's worklist, one-click status changes, the managers' alerts list
with filters and exports, the dashboard's counts, distributor-wide panel and rep response speed, the
customer page's alerts, the navigation count, the settings page and the digest choice."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from alerts.models import Alert, AlertSettings, DigestSubscription
from segments.models import TierPolicy

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def u(name, tenant, **kw):
    return reverse(name, kwargs={"tenant": tenant.slug, **kw})


def test_worklist_groups_the_reps_alerts_biggest_first(tenant_a, alerts_a):
    with scopes_disabled():
        TierPolicy.objects.update_or_create(
            distributor=tenant_a.distributor,
            segment="core",
            defaults={"tier_name": "Gold", "playbook": "Visit monthly.\nMore."},
        )
    response = login(tenant_a.rep_user).get(u("worklist", tenant_a))
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [g["customer"].customer_id for g in groups] == [tenant_a.assigned_customer.customer_id]
    assert [a.kind for a in groups[0]["alerts"]] == ["overdue", "category_gap"]
    html = response.content.decode()
    assert "overdue on " in html and "Playbook:</span> Visit monthly." in html
    assert "slipping on" not in html and "Acme" not in html  # another rep's, distributor-wide
    assert 'id="nav-alert-count">2<' in html
    manager = login(tenant_a.manager).get(u("worklist", tenant_a))
    assert len(manager.context["groups"]) == 2


def test_status_buttons(tenant_a, alerts_a):
    client = login(tenant_a.rep_user)
    mine, other = alerts_a["mine"], alerts_a["other"]
    ok = client.post(
        u("alert-status", tenant_a, alert_id=mine.pk), {"status": "acknowledged", "next": u("worklist", tenant_a)}
    )
    assert ok.status_code == 302 and ok["Location"] == u("worklist", tenant_a)
    no_note = client.post(u("alert-status", tenant_a, alert_id=mine.pk), {"status": "dismissed", "note": ""})
    assert no_note.status_code == 400 and b"needs a note" in no_note.content
    assert client.post(u("alert-status", tenant_a, alert_id=other.pk), {"status": "done"}).status_code == 404
    client.post(u("alert-status", tenant_a, alert_id=mine.pk), {"status": "done", "next": "https://evil.example/"})
    with scopes_disabled():
        mine.refresh_from_db()
    assert mine.status == "done"
    back = client.post(u("alert-status", tenant_a, alert_id=mine.pk), {"status": "open"})
    assert back.status_code == 400 and b"Only a manager" in back.content
    assert (
        login(tenant_a.customer_user)
        .post(u("alert-status", tenant_a, alert_id=mine.pk), {"status": "done"})
        .status_code
        == 403
    )


def test_alert_list_filters_and_exports(tenant_a, alerts_a):
    client = login(tenant_a.manager)
    page = client.get(u("alert-list", tenant_a))
    assert [r.record.kind for r in page.context["table"].page.object_list] == [
        "core_slowdown", "slipping", "overdue", "category_gap",
    ]  # fmt: skip
    # Severity and status in words, as the filters name them; the customer with its name.
    table = page.content.decode().split('id="alerts-table"', 1)[1].split("</table>", 1)[0]
    assert ">High<" in table and ">Open<" in table and ">high<" not in table and ">open<" not in table
    customer = tenant_a.assigned_customer
    assert f"{customer.customer_id} · {customer.name}" in table.replace("&#x27;", "'")
    only = client.get(u("alert-list", tenant_a), {"kind": "overdue"})
    assert [r.record.kind for r in only.context["table"].page.object_list] == ["overdue"]
    by_rep = client.get(u("alert-list", tenant_a), {"rep": tenant_a.rep.rep_id.lower(), "severity": "low"})
    assert [r.record.kind for r in by_rep.context["table"].page.object_list] == ["category_gap"]  # any case
    # By severity: high, medium, low (not alphabetical), biggest money first within; reversed descending.
    by_severity = client.get(u("alert-list", tenant_a), {"sort": "severity"}).context["table"].page.object_list
    assert [(r.record.severity, r.record.kind) for r in by_severity] == [
        ("high", "core_slowdown"), ("high", "slipping"), ("high", "overdue"), ("low", "category_gap"),
    ]  # fmt: skip
    with scopes_disabled():
        Alert.objects.filter(pk=alerts_a["other"].pk).update(severity="medium")
    down = client.get(u("alert-list", tenant_a), {"sort": "-severity"}).context["table"].page.object_list
    assert [r.record.severity for r in down] == ["low", "medium", "high", "high"]
    assert client.get(u("alert-list", tenant_a), {"status": "done"}).context["table"].page.paginator.count == 0
    bad = client.get(u("alert-list", tenant_a), {"kind": "nope"})
    assert bad.context["table"].page.paginator.count == 0 and b"filter-errors" in bad.content
    exported = client.get(u("alert-list", tenant_a), {"kind": "overdue", "export": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][:6] == ["Kind", "Severity", "Subject type", "Subject", "Customer", "Amount (USD)"]
    assert len(rows) == 2 and rows[1][:3] == ["Overdue", "High", "Customer"] and rows[1][5] == "1200.50"
    assert rows[1][6:9] == ["Open", tenant_a.rep.rep_id, "Core"]  # labels, as the page shows them
    xlsx = client.get(u("alert-list", tenant_a), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 5
    assert login(tenant_a.rep_user).get(u("alert-list", tenant_a)).status_code == 403


def test_dashboard_and_customer_page(tenant_a, alerts_a):
    with scopes_disabled():
        Alert.objects.filter(pk=alerts_a["mine_gap"].pk).update(status="done")
    html = login(tenant_a.manager).get(u("dashboard", tenant_a)).content.decode()
    assert 'id="alerts-card"' in html and 'id="wide-alerts"' in html and 'id="rep-response"' in html
    assert "core_slowdown on Acme" in html
    page = login(tenant_a.rep_user).get(
        u("customer-detail", tenant_a, customer_id=tenant_a.assigned_customer.customer_id)
    )
    kinds = [a.kind for a in page.context["customer_alerts"]]
    assert sorted(kinds) == ["category_gap", "overdue"]  # done ones listed too, open first
    assert page.context["customer_alerts"][0].status == "open"


def test_settings_page(tenant_a):
    client = login(tenant_a.manager)
    assert client.get(u("alert-settings", tenant_a)).status_code == 200
    bad = client.post(u("alert-settings", tenant_a), {"slip_drop": "1.2"})
    assert bad.status_code == 400 and bad.context["fields"][1]["errors"]  # the field is marked
    # The page names the setting as a person reads it; its field name is for the API.
    banner = bad.content.decode().split('id="settings-error">', 1)[1].split("</div>", 1)[0]
    assert banner.startswith("Slipping: drop of recent revenue on a year earlier: Must be a share"), banner
    assert "(slip_drop," not in bad.content.decode()
    ok = client.post(u("alert-settings", tenant_a), {"slip_drop": "0.4", "overdue_min_orders": "5"})
    assert ok.status_code == 302
    with scopes_disabled():
        row = AlertSettings.objects.get(distributor=tenant_a.distributor)
    assert str(row.slip_drop) == "0.4000" and row.overdue_min_orders == 5
    assert login(tenant_a.rep_user).get(u("alert-settings", tenant_a)).status_code == 403
    assert b"alert-settings-link" in client.get(u("model-settings", tenant_a)).content


def test_digest_choice(tenant_a):
    client = login(tenant_a.rep_user)
    client.post(u("alert-digest", tenant_a), {"weekly_digest": "off"})
    with scopes_disabled():
        assert (
            DigestSubscription.objects.get(distributor=tenant_a.distributor, user=tenant_a.rep_user).weekly_digest
            is False
        )
    client.post(u("alert-digest", tenant_a), {"weekly_digest": "on"})
    with scopes_disabled():
        assert (
            DigestSubscription.objects.get(distributor=tenant_a.distributor, user=tenant_a.rep_user).weekly_digest
            is True
        )


def test_rep_response_and_worklist_pages(tenant_a, alerts_a):
    from alerts.selectors import rep_response

    rep = login(tenant_a.rep_user)
    rep.post(u("alert-status", tenant_a, alert_id=alerts_a["mine"].pk), {"status": "acknowledged"})
    with scopes_disabled():
        rows = {r["rep"]: r for r in rep_response(distributor=tenant_a.distributor)}
    mine, other = rows[tenant_a.rep.rep_id], rows[tenant_a.other_rep.rep_id]
    assert (mine["assigned"], mine["open"], mine["worked"]) == (2, 1, 1) and mine["median_hours"] >= 0
    assert (other["assigned"], other["open"], other["worked"], other["median_hours"]) == (1, 1, 0, None)
    assert rep.get(u("worklist", tenant_a), {"page": "x"}).status_code == 200


def test_worklist_pages_by_customer_biggest_total_first_never_splitting_one(tenant_a, alerts_a):
    """More customers than a page: each page lists WORKLIST_CUSTOMERS customers with every one of
    their alerts, ordered by their total at stake (a customer with many small alerts can come before
    one with a single bigger one); no customer is on two pages; the count is every alert to work."""
    from insights.alerts import WORKLIST_CUSTOMERS
    from tests import factories as f

    d, run = tenant_a.distributor, alerts_a["run"]
    with scopes_disabled():
        customers = [
            f.CustomerFactory(distributor=d, rep=tenant_a.rep, customer_id=f"alpha-W{i:02d}")
            for i in range(WORKLIST_CUSTOMERS + 2)
        ]
        for i, customer in enumerate(customers):
            for j in range(3):  # totals 3 x (100 + i): W21 first, ... W00 last
                Alert.objects.create(
                    distributor=d, kind="replenishment_due", severity="low", key=f"{customer.pk}|product|P{j}",
                    customer=customer, subject_type="product", subject=f"P{j}", rep=tenant_a.rep, raised_run=run,
                    last_run=run, amount=100 + i + j, figures={}, message=f"P{j} due",
                )  # fmt: skip
    rep = login(tenant_a.rep_user)
    pages = [rep.get(u("worklist", tenant_a), {"page": n}).context for n in (1, 2)]
    shown = [[g["customer"].customer_id for g in page["groups"]] for page in pages]
    # The assigned customer: 1,200.50 + 300 at stake, the biggest total; then W21 (3 x 121 + 3) ...
    expected = [tenant_a.assigned_customer.customer_id] + [c.customer_id for c in reversed(customers)]
    assert shown[0] + shown[1] == expected
    assert len(shown[0]) == WORKLIST_CUSTOMERS and pages[0]["pages"] == 2 and pages[1]["page"] == 2
    assert all(len(g["alerts"]) == 3 for page in pages for g in page["groups"][1 if page is pages[0] else 0 :])
    first = pages[0]["groups"][1]
    assert first["amount"] == sum(a.amount for a in first["alerts"]) == 3 * (100 + WORKLIST_CUSTOMERS + 1) + 3
    assert [a.amount for a in first["alerts"]] == sorted((a.amount for a in first["alerts"]), reverse=True)
    assert pages[0]["open_count"] == pages[1]["open_count"] == 2 + 3 * len(customers)
    past_the_end = rep.get(u("worklist", tenant_a), {"page": 9}).context
    assert past_the_end["page"] == 2 and [g["customer"].customer_id for g in past_the_end["groups"]] == shown[1]


def test_managers_work_the_distributor_wide_alerts_from_their_worklist(tenant_a, alerts_a):
    """The distributor-wide alerts (core slowdown, segment shift) are the managers' to work: first on
    their worklist with the same one-click status changes; never on a rep's. The navigation counts
    what the worklist counts: open and acknowledged alerts."""
    manager = login(tenant_a.manager)
    page = manager.get(u("worklist", tenant_a))
    wide = alerts_a["wide"]
    assert [a.pk for a in page.context["distributor_alerts"]] == [wide.pk]
    html = page.content.decode()
    assert 'id="worklist-distributor"' in html and f'data-alert="{wide.pk}"' in html
    assert page.context["open_count"] == 4 and 'id="nav-alert-count">4<' in html
    ok = manager.post(u("alert-status", tenant_a, alert_id=wide.pk), {"status": "acknowledged"})
    assert ok.status_code == 302
    page = manager.get(u("worklist", tenant_a))
    assert page.context["open_count"] == 4 and 'id="nav-alert-count">4<' in page.content.decode()  # still to work
    manager.post(u("alert-status", tenant_a, alert_id=wide.pk), {"status": "done"})
    page = manager.get(u("worklist", tenant_a))
    assert page.context["distributor_alerts"] == [] and page.context["open_count"] == 3
    rep_page = login(tenant_a.rep_user).get(u("worklist", tenant_a))
    assert rep_page.context["distributor_alerts"] == [] and "worklist-distributor" not in rep_page.content.decode()


def test_the_worklist_shows_the_biggest_distributor_wide_alerts_and_counts_the_rest(tenant_a, alerts_a):
    from accounts.models import Membership
    from alerts.selectors import worklist

    with scopes_disabled():
        manager = Membership.objects.get(distributor=tenant_a.distributor, user=tenant_a.manager)
        run = alerts_a["run"]
        for i in range(4):
            Alert.objects.create(
                distributor=tenant_a.distributor, kind="core_slowdown", severity="high", key=f"|brand|B{i}",
                subject_type="brand", subject=f"B{i}", raised_run=run, last_run=run, amount=100 + i, figures={},
                message="slowing",
            )  # fmt: skip
        first = worklist(distributor=tenant_a.distributor, membership=manager, wide_shown=2)
        second = worklist(distributor=tenant_a.distributor, membership=manager, page=2, per_page=1)
    assert [a.subject for a in first["distributor"]] == ["Acme", "B3"] and first["distributor_total"] == 5
    assert first["total"] == 3 + 5  # the customers' three alerts and the five distributor-wide
    # The next page lists none of them but still counts them in what there is to work.
    assert second["page"] == 2 and second["distributor"] == [] and second["total"] == first["total"]
    html = login(tenant_a.manager).get(u("worklist", tenant_a)).content.decode()
    assert 'id="worklist-distributor-more"' not in html  # 5 shown of 5 at the page's 25


def test_figures_read_in_words_and_the_tenants_currency(tenant_a):
    """The figures under an alert: money in the tenant's currency, shares as percentages, the rules'
    codes (where a cycle comes from, a factor, a segment) in words, never as the code."""
    from insights.alerts import figures_list

    alert = Alert(
        kind="replenishment_due",
        figures={
            "cycle_days": 30.0, "cycle_source": "history", "days_since_last_purchase": 41,
            "average_revenue_per_purchase": "1234.50", "factor": "share_of_wallet", "from_segment": "service_drain",
            "drop": 0.4231, "rank": 0.7512, "cut_most": [{"customer_id": "C1"}], "cost_per_1000": 1234567.5,
        },
    )  # fmt: skip
    shown = dict(figures_list(alert, tenant_a.distributor))
    assert shown == {
        "Cycle (days)": "30",
        "Cycle from": "the customer's usual interval",
        "Days since last purchase": "41",
        "Per purchase": "$1,234",  # the tenant's currency (USD, en_US): whole units, as the sentences
        "Factor to raise": "Share of wallet",
        "From": "Service drain",
        "Drop": "42%",
        "Percentile rank": "75.1%",
        "Cost per 1,000": "1,234,567.50",  # grouped, never "1.23457e+06"
    }
    tenant_a.distributor.currency, tenant_a.distributor.locale = "EUR", "de_DE"
    assert dict(figures_list(alert, tenant_a.distributor))["Per purchase"] == "1.234\xa0€"


def test_supplier_and_rep_subjects_read_with_their_names(tenant_a, alerts_a):
    """A core slowdown of a supplier, or a segment shift of a rep, names the supplier (from the
    partners file) or the rep beside the code, on the worklist, the dashboard and the alerts list."""
    from channels.models import Partner

    with scopes_disabled():
        Partner.objects.create(distributor=tenant_a.distributor, partner_id="SUP004", name="Delta Supply Co")
        Alert.objects.filter(pk=alerts_a["wide"].pk).update(subject_type="supplier", subject="SUP004")
        tenant_a.rep.name = "Maria Rossi"
        tenant_a.rep.save()
        run = alerts_a["run"]
        Alert.objects.create(
            distributor=tenant_a.distributor, kind="segment_shift", severity="medium", key=f"|rep|{tenant_a.rep.rep_id}",
            subject_type="rep", subject=tenant_a.rep.rep_id, raised_run=run, last_run=run, amount=50, figures={},
            message="fell",
        )  # fmt: skip
    manager = login(tenant_a.manager)
    worklist = manager.get(u("worklist", tenant_a)).content.decode()
    dashboard = manager.get(u("dashboard", tenant_a)).content.decode()
    listed = manager.get(u("alert-list", tenant_a)).content.decode()
    for html in (worklist, dashboard, listed):
        assert "SUP004 · Delta Supply Co" in html and f"{tenant_a.rep.rep_id} · Maria Rossi" in html


def test_a_customer_with_many_alerts_shows_its_biggest_and_counts_the_rest(tenant_a, alerts_a):
    """90 replenishments due on one customer made a worklist page of megabytes: the ten biggest are
    shown, the rest counted and linked to the customer's page; its total at stake counts them all."""
    d, run = tenant_a.distributor, alerts_a["run"]
    customer = tenant_a.assigned_customer
    with scopes_disabled():
        before = Alert.objects.filter(distributor=d, customer=customer, status__in=("open", "acknowledged")).count()
        for j in range(25):
            Alert.objects.create(
                distributor=d, kind="replenishment_due", severity="low", key=f"{customer.pk}|product|R{j}",
                customer=customer, subject_type="product", subject=f"R{j}", rep=tenant_a.rep, raised_run=run,
                last_run=run, amount=1000 + j, figures={}, message=f"R{j} due",
            )  # fmt: skip
        total = sum(
            Alert.objects.filter(distributor=d, customer=customer, status__in=("open", "acknowledged")).values_list(
                "amount", flat=True
            )
        )
    response = login(tenant_a.rep_user).get(u("worklist", tenant_a))
    group = next(g for g in response.context["groups"] if g["customer"] == customer)
    assert len(group["alerts"]) == 10 and group["more"] == before + 25 - 10
    assert [a.amount for a in group["alerts"]] == sorted((a.amount for a in group["alerts"]), reverse=True)
    assert group["alerts"][0].amount >= 1024 and group["amount"] == total
    html = response.content.decode()
    assert f"{before + 15} more alerts on this customer" in html
