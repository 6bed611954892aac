"""The weekly digest: per rep (their new and still-open alerts, top 10 by money, never another rep's
customers), per manager (counts per kind, distributor-wide alerts), plain text plus HTML, the
unsubscribe setting, and the beat task that sends it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_scopes import scopes_disabled

from alerts.digest import digests_send
from alerts.models import Alert, DigestSubscription
from alerts.tasks import send_weekly_digests_task

pytestmark = pytest.mark.django_db


def by_recipient():
    return {m.to[0]: m for m in mail.outbox}


def test_digest_per_role(tenant_a, tenant_b, alerts_a, alerts_b):
    with scopes_disabled():  # twelve more alerts on the rep's customer: only the top 10 are listed
        for i in range(12):
            Alert.objects.create(
                distributor=tenant_a.distributor, kind="replenishment_due", severity="low",
                key=f"{tenant_a.assigned_customer.pk}|product|SKU{i}", customer=tenant_a.assigned_customer,
                subject_type="product", subject=f"SKU{i}", rep=tenant_a.rep, raised_run=alerts_a["run"],
                last_run=alerts_a["run"], amount=Decimal(i), figures={}, message=f"replenish SKU{i}",
            )  # fmt: skip
        Alert.objects.filter(pk=alerts_a["mine_gap"].pk).update(created_at=timezone.now() - timedelta(days=30))
    sent = digests_send()
    messages = by_recipient()
    rep_mail = messages[tenant_a.rep_user.email]
    text, html = rep_mail.body, rep_mail.alternatives[0][0]
    assert rep_mail.alternatives[0][1] == "text/html"
    assert "14 alerts to work (13 new" in text
    listed = [line for line in text.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert len(listed) == 10 and "overdue on" in text and "[new] Overdue" in text
    assert "Category gap" in text and "[new] Category gap" not in text  # raised a month ago: still open
    assert "replenish SKU1\n" not in text and "replenish SKU0" not in text  # below the top 10
    other = tenant_a.unassigned_customer.customer_id
    for body in (text, html):
        assert other not in body and "slipping on" not in body and "Acme" not in body  # another rep's; wide
        assert "bravo" not in body.lower()
    manager_mail = messages[tenant_a.manager.email]
    assert "Core slowdown" in manager_mail.body and "core_slowdown on Acme" in manager_mail.body
    assert "- Overdue: 1" in manager_mail.body and "- Slipping: 1" in manager_mail.body
    assert "<table" in manager_mail.alternatives[0][0]
    assert tenant_a.customer_user.email not in messages  # customers get none
    assert sent == len(mail.outbox) == 4  # A's and B's managers and reps


def test_unsubscribed_users_get_none_and_new_means_since_the_last_digest(tenant_a, alerts_a):
    with scopes_disabled():
        DigestSubscription.objects.create(distributor=tenant_a.distributor, user=tenant_a.manager, weekly_digest=False)
    assert send_weekly_digests_task() == 1
    assert [m.to[0] for m in mail.outbox] == [tenant_a.rep_user.email]
    mail.outbox.clear()
    digests_send(now=timezone.now() + timedelta(days=7))
    assert "(0 new since" in mail.outbox[0].body  # nothing raised since the last one


def test_beat_schedules_the_digest():
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-alerts-digest"]
    assert entry["task"] == "alerts.tasks.send_weekly_digests_task"


def test_the_managers_tenant_wide_part_is_read_once_per_tenant(tenant_a, alerts_a, monkeypatch):
    from alerts import digest
    from tests import factories as f

    second = f.membership(tenant_a.distributor, "manager", username="second-manager")
    calls = []
    real = digest.counts_by_kind
    monkeypatch.setattr(digest, "counts_by_kind", lambda **kw: calls.append(kw) or real(**kw))
    digests_send()
    messages = by_recipient()
    first, other = messages[tenant_a.manager.email].body, messages[second.email].body
    assert "- Overdue: 1" in first and "core_slowdown on Acme" in first
    # The same counts and distributor-wide alerts for both managers (only the greeting differs).
    assert first.split("\n", 1)[1] == other.split("\n", 1)[1]
    assert len(calls) == 1


def test_the_digest_links_are_absolute_and_names_read_as_on_the_pages(tenant_a, alerts_a, settings):
    """A mail client opens only absolute links (the worklist's, with its Unsubscribe, and the alerts');
    a supplier is named beside its code as on the pages; the managers' "new" counts the new alerts still
    to work, not the done or dismissed ones."""
    from channels.models import Partner

    assert settings.SITE_URL.startswith("http://")  # set with no configuration (`make run`'s address)
    settings.SITE_URL = "https://stratify.example.com"
    with scopes_disabled():
        Partner.objects.create(distributor=tenant_a.distributor, partner_id="SUP004", name="Delta Supply Co")
        Alert.objects.filter(pk=alerts_a["wide"].pk).update(subject_type="supplier", subject="SUP004")
        Alert.objects.filter(pk=alerts_a["other"].pk).update(status="done")
    digests_send()
    messages = by_recipient()
    rep, manager = messages[tenant_a.rep_user.email], messages[tenant_a.manager.email]
    assert f"https://stratify.example.com/{tenant_a.slug}/worklist/" in rep.body
    assert f'href="https://stratify.example.com/{tenant_a.slug}/worklist/"' in rep.alternatives[0][0]
    assert f"https://stratify.example.com/{tenant_a.slug}/alerts/" in manager.body
    assert "SUP004 · Delta Supply Co" in manager.body and "SUP004 · Delta Supply Co" in manager.alternatives[0][0]
    assert "(3 new since" in manager.body  # four raised this week, one of them done
