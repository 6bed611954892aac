"""Reading alerts: who may see which (managers: all; reps: the alerts of the customers assigned to
them now, never distributor-wide ones; customers: none), filters, counts, and how fast reps work them."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from sales.models import Customer
from segments.names import value_names
from stratify.cache import ALERTS, tenant_generation
from stratify.formatting import money_str
from stratify.tenancy.permissions import Role

from .models import (
    ACTIVE,
    DISTRIBUTOR_KINDS,
    KINDS,
    SETTING_FIELDS,
    Alert,
    AlertRaise,
    AlertSettings,
    AlertStatusChange,
    DigestSubscription,
    Severity,
    Status,
)

EXPORT_COLUMNS = ("kind", "severity", "subject_type", "subject", "customer_id", "amount", "status", "message")
FILTERS = ("kind", "status", "customer_id", "rep", "severity", "branch", "segment")
CHOICES = {
    "kind": KINDS,
    "status": tuple(s.value for s in Status),
    "severity": tuple(s.value for s in Severity),
}


ALERTS_CACHE_SECONDS = 6 * 3600


def alerts_cached(distributor, name: str, compute):
    """`compute()` cached until the tenant's alerts change: the key carries the tenant's ALERTS
    generation, which `alerts_raise` and `alert_set_status` bump when they commit (stratify/cache.py).
    For figures over every alert of the tenant (the dashboard's panels, the open alerts per rep)."""
    generation = tenant_generation(distributor.pk, ALERTS)
    # The worker that raises a run's alerts bumps the generation in its own cache: without a shared
    # one (no REDIS_URL) the web process would not see it for hours, so the key also names the
    # tenant's latest raise (one small indexed read).
    raised = AlertRaise.objects.filter(distributor=distributor).order_by("-pk").values_list("pk", flat=True).first()
    key = f"stratify:alerts:{distributor.pk}:{generation}:{raised or 0}:{name}:v1"
    return cache.get_or_set(key, compute, ALERTS_CACHE_SECONDS)


def visible_alerts(*, distributor, membership=None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(distributor=distributor)
    if membership is None or membership.role == Role.MANAGER:
        return alerts
    if membership.role == Role.REP and membership.rep_id:
        # The rep's customers (~1,000 of 50,000) as a subquery: see `worklist_alerts` for the order.
        mine = Customer.objects.filter(distributor=distributor, rep_id=membership.rep_id).values("pk")
        return alerts.filter(customer_id__in=mine)
    return alerts.none()


def filter_errors(filters: dict) -> dict[str, str]:
    """{field: message} for filter values outside their allowed values."""
    errors = {}
    for name, allowed in CHOICES.items():
        value = filters.get(name)
        if value and value not in allowed:
            errors[name] = f"Unknown {name} {value!r}; allowed: {', '.join(allowed)}."
    return errors


def alert_list(*, distributor, membership=None, filters: dict | None = None) -> QuerySet[Alert]:
    """The alerts the caller may see, filtered (`kind`, `status`, `customer_id` (account number),
    `rep` (rep code), `severity`, `branch`, `segment`), biggest money at stake first."""
    alerts = visible_alerts(distributor=distributor, membership=membership)
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    for name in ("kind", "status", "severity", "segment"):
        if name in filters:
            alerts = alerts.filter(**{name: filters[name]})
    if "customer_id" in filters:
        alerts = alerts.filter(customer__customer_id=filters["customer_id"])
    if "rep" in filters:
        alerts = alerts.filter(rep__rep_id=filters["rep"])
    if "branch" in filters:
        alerts = alerts.filter(customer__branch=filters["branch"])
    return alerts.order_by("-amount", "id")


def alert_get(*, distributor, membership, pk) -> Alert:
    """One alert the caller may see (Alert.DoesNotExist otherwise: the same 404 for missing, another
    tenant's and another rep's)."""
    return visible_alerts(distributor=distributor, membership=membership).select_related("customer").get(pk=int(pk))


def export_record(alert: Alert) -> dict:
    customer = alert.customer
    return {
        "kind": alert.kind,
        "severity": alert.severity,
        "subject_type": alert.subject_type,
        "subject": alert.subject,
        "customer_id": customer.customer_id if customer is not None else "",
        "amount": money_str(alert.amount),
        "status": alert.status,
        "message": alert.message,
    }


def active_count(*, distributor, membership) -> int:
    """The navigation's count: the alerts the caller has to work, open or acknowledged (reps: their
    customers'; managers: all), as the worklist and the dashboard count them."""
    return visible_alerts(distributor=distributor, membership=membership).filter(status__in=ACTIVE).count()


def counts_by_kind(*, distributor, membership=None) -> list[dict]:
    """Per kind: open and acknowledged alerts and their money at stake (every kind listed)."""
    rows = (
        visible_alerts(distributor=distributor, membership=membership)
        .filter(status__in=ACTIVE)
        .values("kind")
        .annotate(count=Count("id"), amount=Sum("amount"))
    )
    found = {r["kind"]: r for r in rows}
    return [
        {"kind": k, "count": found.get(k, {}).get("count", 0), "amount": found.get(k, {}).get("amount") or Decimal(0)}
        for k in KINDS
    ]


def distributor_alerts(*, distributor) -> QuerySet[Alert]:
    """The distributor-wide alerts still open or acknowledged (managers' panel)."""
    return Alert.objects.filter(distributor=distributor, kind__in=DISTRIBUTOR_KINDS, status__in=ACTIVE).order_by(
        "-amount", "id"
    )


STATUS_ORDER = Case(
    *(When(status=s, then=Value(i)) for i, s in enumerate(("open", "acknowledged", "done", "dismissed"))),
    default=Value(9),
    output_field=IntegerField(),
)
SEVERITY_ORDER = Case(  # by importance: high, medium, low (the choices' order)
    *(When(severity=s, then=Value(i)) for i, s in enumerate(Severity.values)),
    default=Value(9),
    output_field=IntegerField(),
)


def customer_alerts(*, distributor, customer) -> QuerySet[Alert]:
    """A customer's alerts: open first, then acknowledged, done and dismissed; biggest first within."""
    return Alert.objects.filter(distributor=distributor, customer=customer).order_by(STATUS_ORDER, "-amount", "id")


def worklist_alerts(*, distributor, membership) -> QuerySet[Alert]:
    """The caller's open and acknowledged alerts on customers, biggest money at stake first."""
    return (
        visible_alerts(distributor=distributor, membership=membership)
        .filter(status__in=ACTIVE, customer__isnull=False)
        # Amount is never NULL, so NULLS LAST is the same order; but unlike `-amount` it is not the
        # amount index's order, so for a rep PostgreSQL reads their customers' alerts (index on the
        # customer) and sorts those few, instead of walking every alert of the tenant in amount order
        # and probing each one's customer (67 ms against 2 ms at 50,000 customers).
        .order_by(F("amount").desc(nulls_last=True), "id")
    )


def worklist(
    *, distributor, membership, page: int = 1, per_page: int = 20, wide_shown: int = 25, per_customer: int = 10
) -> dict:
    """Page `page` (clamped to 1..pages) of the caller's worklist: `per_page` customers with their
    open and acknowledged alerts (the `per_customer` biggest; `more` counts the rest, worked from the
    customer's page: a customer with 90 replenishments due made a page of megabytes), the customers
    in the order of their money at stake (the sum of all those alerts), each customer's alerts
    biggest first; a customer is never split across pages. Managers also work the distributor-wide
    alerts: the first page lists the `wide_shown` biggest (`distributor`; `distributor_total` counts
    them all). Returns {"groups", "distributor", "distributor_total", "total" (alerts to work),
    "page", "pages"}: three queries (totals, the page's customers, their alerts) and, for managers,
    one for the distributor-wide alerts."""
    alerts = worklist_alerts(distributor=distributor, membership=membership)
    totals = alerts.aggregate(alerts=Count("id"), customers=Count("customer_id", distinct=True))
    pages = max(1, -(-totals["customers"] // per_page))
    page = min(max(1, page), pages)
    ranked = list(
        alerts.order_by()
        .values("customer_id")
        .annotate(amount=Sum("amount"))
        .order_by("-amount", "customer_id")[(page - 1) * per_page : page * per_page]
    )
    groups = {
        row["customer_id"]: {"customer": None, "alerts": [], "amount": row["amount"], "segment": "", "more": 0}
        for row in ranked
    }
    biggest_first = [F("amount").desc(nulls_last=True), F("id")]
    shown = (
        alerts.filter(customer_id__in=list(groups))
        .select_related("customer")
        .annotate(
            place=Window(RowNumber(), partition_by=[F("customer_id")], order_by=biggest_first),
            of=Window(Count("id"), partition_by=[F("customer_id")]),
        )
        .filter(place__lte=per_customer)
    )
    for alert in shown:
        group = groups[alert.customer_id]
        group["customer"] = alert.customer
        group["alerts"].append(alert)
        group["segment"] = group["segment"] or alert.segment
        group["more"] = max(0, alert.of - per_customer)
    wide, wide_total = [], 0
    if membership is not None and membership.role == Role.MANAGER:
        every = distributor_alerts(distributor=distributor).annotate(total=Window(Count("id")))
        if page == 1:
            wide = list(every[:wide_shown])
            wide_total = wide[0].total if wide else 0
        else:
            wide_total = every.count()
    return {
        # A customer whose alerts were all closed between the two reads has none left: not shown.
        "groups": [group for group in groups.values() if group["alerts"]],
        "distributor": wide,
        "distributor_total": wide_total,
        "total": totals["alerts"] + wide_total,
        "page": page,
        "pages": pages,
    }


def rep_response(*, distributor) -> list[dict]:
    """How quickly each rep works their alerts: per rep, alerts assigned, still open, worked (changed by
    a person at least once: acknowledged, done or dismissed), and the median hours from raising to that
    first change. Counts in SQL; only the worked alerts' two timestamps are read."""
    rows = (
        Alert.objects.filter(distributor=distributor, rep__isnull=False)
        .values("rep__rep_id", "rep__name")
        .annotate(assigned=Count("id"), open=Count("id", filter=Q(status=Status.OPEN)))
        .order_by("rep__rep_id")
    )
    first_action = (
        AlertStatusChange.objects.filter(
            distributor_id=OuterRef("distributor_id"), alert_id=OuterRef("pk"), changed_by__isnull=False
        )
        .order_by("changed_at")
        .values("changed_at")[:1]
    )
    worked = (
        Alert.objects.filter(distributor=distributor, rep__isnull=False)
        .filter(Exists(AlertStatusChange.objects.filter(
            distributor_id=OuterRef("distributor_id"), alert_id=OuterRef("pk"), changed_by__isnull=False
        )))
        .annotate(first=Subquery(first_action))
        .values_list("rep__rep_id", "created_at", "first")
    )  # fmt: skip
    hours: dict[str, list[float]] = defaultdict(list)
    for code, created, first in worked:
        hours[code].append((first - created).total_seconds() / 3600)
    out = []
    for row in rows:
        code = row["rep__rep_id"]
        spent = sorted(hours.get(code, []))
        median = None
        if spent:
            mid = len(spent) // 2
            median = spent[mid] if len(spent) % 2 else (spent[mid - 1] + spent[mid]) / 2
        out.append(
            {
                "rep": code,
                "name": row["rep__name"] or code,
                "assigned": row["assigned"],
                "open": row["open"],
                "worked": len(spent),
                "worked_share": len(spent) / row["assigned"] if row["assigned"] else None,
                "median_hours": median,
            }
        )
    return out


def settings_for(*, distributor) -> AlertSettings:
    """The tenant's alert settings (an unsaved row with the defaults when none was saved)."""
    return AlertSettings.objects.filter(distributor=distributor).first() or AlertSettings(distributor=distributor)


def settings_body(row: AlertSettings) -> dict:
    """The settings as JSON: shares and factors as numbers, days and counts as integers."""
    out = {}
    for name, _, kind, _ in SETTING_FIELDS:
        value = getattr(row, name)
        out[name] = int(value) if kind in ("days", "count") else float(value)
    return out


def digest_enabled(*, distributor, user) -> bool:
    row = DigestSubscription.objects.filter(distributor=distributor, user=user).first()
    return True if row is None else row.weekly_digest


def open_by_rep(*, distributor, rep_pks, assignment: str | None = None) -> dict[int, dict]:
    """Per rep pk, the alerts still to work (open or acknowledged) on the customers assigned to the rep
    now: {"open": count, "money_at_stake": Decimal}. One GROUP BY; reps without any are absent.
    With `assignment` (a fingerprint of the customers' reps that changes with any re-assignment), every
    rep's figures are cached until the alerts or the assignment change."""

    def compute(rep_filter):
        rows = (
            Alert.objects.filter(distributor=distributor, status__in=ACTIVE, **rep_filter)
            .values("customer__rep_id")
            .annotate(open=Count("id"), money_at_stake=Sum("amount"))
            .order_by()
        )
        return {
            r["customer__rep_id"]: {"open": r["open"], "money_at_stake": r["money_at_stake"] or Decimal(0)}
            for r in rows
        }

    wanted = list(rep_pks)
    if assignment is None:
        return compute({"customer__rep_id__in": wanted})
    every = alerts_cached(distributor, f"open_by_rep:{assignment}", lambda: compute({"customer__rep__isnull": False}))
    return {pk: every[pk] for pk in wanted if pk in every}


def with_subject_labels(alerts: list, distributor) -> list:
    """`alerts`, each with `subject_label`: its subject as it reads, a supplier or rep code with its
    name ("SUP004 · Delta Supply Co"; one query per kind of such subject among them, for their codes)."""
    codes: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        if alert.subject_type in ("supplier", "rep"):
            codes[alert.subject_type].add(alert.subject)
    names = {kind: value_names(distributor=distributor, dimension=kind, codes=wanted) for kind, wanted in codes.items()}
    for alert in alerts:
        alert.subject_label = names.get(alert.subject_type, {}).get(alert.subject) or alert.subject
    return alerts
