"""The weekly alerts digest (issue 15): one e-mail per rep (their new and still-open alerts, the top 10
by money at stake; never another rep's customers: the same visibility as their pages) and per manager
(open alerts and money at stake per kind, the distributor-wide alerts), plain text plus HTML, through
the configured e-mail backend. A user who unsubscribed (`DigestSubscription.weekly_digest` false)
gets none; a user without an e-mail address neither. "New" means raised since the user's last digest
(the last 7 days for a first one)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import Distributor, Membership
from stratify.tenancy.permissions import Role

from .models import ACTIVE, DigestSubscription, Kind
from .selectors import counts_by_kind, distributor_alerts, visible_alerts, with_subject_labels

TOP = 10
KIND_LABELS = dict(Kind.choices)


def tenant_summary(*, distributor) -> dict:
    """What every manager's digest of one tenant shares: open alerts and money at stake per kind, and
    the distributor-wide alerts (read once per tenant when the digests go out)."""
    counts = [dict(r, label=KIND_LABELS[r["kind"]]) for r in counts_by_kind(distributor=distributor)]
    return {
        "counts": [r for r in counts if r["count"]],
        "total": sum(r["count"] for r in counts),
        "amount": sum(r["amount"] for r in counts),
        "wide": with_subject_labels(list(distributor_alerts(distributor=distributor)[:TOP]), distributor),
    }


def digest_content(*, distributor, membership, since, shared: dict | None = None) -> dict:
    """What one person's digest says (nothing sent). `shared`: a dict kept across the calls for one
    tenant, where the tenant-wide part of the managers' digests is kept once computed."""
    content = {"distributor": distributor, "membership": membership, "since": since, "role": membership.role}
    if membership.role == Role.MANAGER:
        shared = {} if shared is None else shared
        if "summary" not in shared:
            shared["summary"] = tenant_summary(distributor=distributor)
        content.update(
            **shared["summary"],
            new_count=visible_alerts(distributor=distributor, membership=membership)
            .filter(created_at__gte=since, status__in=ACTIVE)
            .count(),
        )
    else:
        active = visible_alerts(distributor=distributor, membership=membership).filter(status__in=ACTIVE)
        top = list(active.select_related("customer").order_by("-amount", "id")[:TOP])
        for alert in top:
            alert.is_new = alert.created_at >= since
            alert.kind_label = KIND_LABELS.get(alert.kind, alert.kind)
        content.update(
            alerts=top,
            total=active.count(),
            new_count=active.filter(created_at__gte=since).count(),
        )
    return content


def digest_message(
    *, distributor, membership, since, base_url: str = "", shared: dict | None = None
) -> tuple[str, str, str] | None:
    """(subject, text, html) of one person's digest; None when there is nothing to say."""
    content = digest_content(distributor=distributor, membership=membership, since=since, shared=shared)
    if not content["total"] and not content.get("wide"):
        return None
    path = reverse("worklist" if membership.role != Role.MANAGER else "alert-list", kwargs={"tenant": distributor.slug})
    content["link"] = f"{base_url}{path}"
    content["unsubscribe"] = f"{base_url}{reverse('worklist', kwargs={'tenant': distributor.slug})}"
    subject = f"{distributor.name}: {content['total']} alert{'s' if content['total'] != 1 else ''} to work this week"
    text = render_to_string("alerts/digest.txt", content)
    html = render_to_string("alerts/digest.html", content)
    return subject, text, html


def digests_send(*, now=None) -> int:
    """Send the weekly digest to every subscribed rep and manager of every tenant. Returns how many
    messages were sent."""
    now = now or timezone.now()
    base_url = settings.SITE_URL.rstrip("/")  # the links are absolute: they are opened from a mail client
    sent = 0
    with scopes_disabled():
        distributors = list(Distributor.objects.all())
    with get_connection() as connection:
        for distributor in distributors:
            with scope(distributor=distributor):
                members = (
                    Membership.objects.filter(distributor=distributor, role__in=(Role.MANAGER, Role.REP))
                    .exclude(user__email="")
                    .select_related("user", "rep")
                )
                subscriptions = {s.user_id: s for s in DigestSubscription.objects.filter(distributor=distributor)}
                shared: dict = {}  # the managers' tenant-wide part, computed once for the tenant
                for membership in members:
                    row = subscriptions.get(membership.user_id)
                    if row is not None and not row.weekly_digest:
                        continue
                    since = row.last_sent_at if row is not None and row.last_sent_at else now - timedelta(days=7)
                    message = digest_message(
                        distributor=distributor, membership=membership, since=since, base_url=base_url, shared=shared
                    )
                    if message is None:
                        continue
                    subject, text, html = message
                    email = EmailMultiAlternatives(subject, text, to=[membership.user.email], connection=connection)
                    email.attach_alternative(html, "text/html")
                    email.send()
                    DigestSubscription.objects.update_or_create(
                        distributor=distributor, user=membership.user, defaults={"last_sent_at": now}
                    )
                    sent += 1
    return sent
