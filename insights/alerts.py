"""The read side of alerts (docs INSIGHTS.md): the rep's worklist (grouped by customer, with the
segment's playbook line), the managers' alerts list (table, filters, export), the dashboard's
counts, distributor-wide panel and rep response speed, and the customer page's alerts."""

from __future__ import annotations

import hashlib

import django_filters
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from alerts import selectors as alert_selectors
from alerts.models import Alert, Kind, Severity, Status
from sales.filters import customer_field_choices
from sales.selectors import rep_list
from segments.names import coded
from segments.policies import policy_for_segment
from segments.selectors import policy_list
from segments.vocabulary import FACTOR_LABELS, SEGMENT_LABELS, SEGMENT_ORDER
from stratify.exports import Money
from stratify.formatting import format_money, format_number
from stratify.tenancy.converters import erp_id_in_url
from stratify.tenancy.lists import LeanTable

KIND_LABELS = dict(Kind.choices)
SEVERITY_LABELS = dict(Severity.choices)
STATUS_LABELS = dict(Status.choices)
SEVERITY_CSS = {"high": "text-bg-danger", "medium": "text-bg-warning", "low": "text-bg-info"}
FIGURE_LABELS = {
    "from_segment": "From", "to_segment": "To", "net_profit_before": "Net profit before",
    "net_profit_now": "Net profit now", "net_profit_change": "Change", "previous_segment": "Previous segment",
    "prior_window_revenue": "Prior-window revenue", "recent_revenue": "Recent revenue",
    "year_earlier_revenue": "A year earlier", "drop": "Drop", "recent_days": "Recent days",
    "days_since_last_order": "Days since last order", "median_gap_days": "Usual gap (days)",
    "order_dates": "Order dates", "days_overdue": "Days overdue", "revenue_per_30_days": "Revenue per 30 days",
    "category_window_revenue": "Category, window", "category_prior_revenue": "Category, prior window",
    "window_revenue": "Total, window", "core_buyers_share": "Core customers buying it",
    "core_median_revenue": "Core median", "cycle_days": "Cycle (days)", "cycle_source": "Cycle from",
    "days_since_last_purchase": "Days since last purchase", "purchase_dates": "Purchase dates",
    "average_revenue_per_purchase": "Per purchase", "axis": "Axis", "rank": "Percentile rank",
    "threshold": "Core threshold",
    "factor": "Factor to raise", "median_core_net_profit": "Median core net profit", "net_profit": "Net profit",
    "cost_per_1000": "Cost per 1,000", "core_median_cost_per_1000": "Core median per 1,000",
    "activity": "Activity", "activity_cost_per_1000": "Activity cost per 1,000",
    "core_activity_cost_per_1000": "Core median activity cost per 1,000", "core_recent_total": "Core total, recent",
    "core_year_earlier_total": "Core total, a year earlier",
    "core_share_before": "Core share before", "core_share_now": "Core share now", "points_fallen": "Points fallen",
    "left_core": "Left core",
}  # fmt: skip


# Figures that are money (decimal strings in the alert's figures), shown in the tenant's currency.
MONEY_FIGURES = frozenset({
    "net_profit_before", "net_profit_now", "net_profit_change", "prior_window_revenue", "recent_revenue",
    "year_earlier_revenue", "revenue_per_30_days", "category_window_revenue", "category_prior_revenue",
    "window_revenue", "core_median_revenue", "average_revenue_per_purchase", "median_core_net_profit",
    "net_profit", "core_recent_total", "core_year_earlier_total",
})  # fmt: skip
SHARE_FIGURES = frozenset({"drop", "core_buyers_share", "core_share_before", "core_share_now"})
RANK_FIGURES = frozenset({"rank", "threshold"})  # percentile ranks: a tenth of a point tells them apart
# Figures that hold a code of the rules (`alerts.rules`): shown in words.
CODE_WORDS = {
    "cycle_source": {"product": "the product's replacement cycle", "history": "the customer's usual interval"},
    "axis": {"value": "Value", "profit": "Profit"},
    "factor": FACTOR_LABELS,
    **dict.fromkeys(("from_segment", "to_segment", "previous_segment", "segment"), SEGMENT_LABELS),
}


def figures_list(alert, distributor=None) -> list[tuple[str, str]]:
    """The figures behind an alert as (label, text) pairs in plain words: money in the tenant's
    currency (with `distributor`), shares as percentages, the rules' codes (segments, factors, where a
    cycle comes from) as words. Lists, e.g. who cut most, are in the message."""
    out = []
    for key, value in (alert.figures or {}).items():
        if isinstance(value, (list, dict)) or value in ("", None):
            continue
        if key in SHARE_FIGURES:
            text = f"{float(value):.0%}"
        elif key in RANK_FIGURES:
            text = f"{float(value):.1%}"
        elif key in MONEY_FIGURES and distributor is not None:
            text = format_money(value, distributor)
        elif key in CODE_WORDS:
            text = CODE_WORDS[key].get(value, str(value).replace("_", " "))
        elif key == "activity":
            text = str(value).capitalize()
        elif isinstance(value, float) and distributor is not None:  # days, costs per 1,000: grouped, no exponent
            text = format_number(value, distributor, decimals=0 if value.is_integer() else 2)
        else:
            text = str(value)
        out.append((FIGURE_LABELS.get(key, key.replace("_", " ").capitalize()), text))
    return out


def playbook_line(policy) -> str:
    text = (getattr(policy, "playbook", "") or "").strip()
    return text.splitlines()[0] if text else ""


WORKLIST_CUSTOMERS = 20  # customers a worklist page shows, each with all of its alerts


def _shown(alerts, distributor) -> None:
    """What the alert templates show of each alert, computed once: labels, figures (as one escaped
    text: a template loop per figure was a good part of the worklist's time), severity style and the
    URL of its status changes (reversed once for all of them)."""
    url = reverse("alert-status", kwargs={"tenant": distributor.slug, "alert_id": 0})
    head, tail = url.rsplit("/0/", 1)
    alert_selectors.with_subject_labels(alerts, distributor)
    for alert in alerts:
        alert.kind_label = KIND_LABELS.get(alert.kind, alert.kind)
        alert.figures_text = format_html_join(" · ", "{}: {}", figures_list(alert, distributor))  # each part escaped
        alert.severity_css = SEVERITY_CSS.get(alert.severity, "")
        alert.status_url = f"{head}/{alert.pk}/{tail}"


def worklist_context(*, distributor, membership, page: int = 1) -> dict:
    """One page of the worklist: WORKLIST_CUSTOMERS customers, biggest money at stake first, each with
    all of its alerts; for managers, the distributor-wide alerts first on the first page."""
    found = alert_selectors.worklist(
        distributor=distributor, membership=membership, page=page, per_page=WORKLIST_CUSTOMERS
    )
    groups = found["groups"]
    wide = found["distributor"]
    _shown(wide, distributor)
    policies = policy_list(distributor=distributor)
    for group in groups:
        group["playbook"] = playbook_line(policy_for_segment(policies, group["segment"] or None))
        group["segment_label"] = SEGMENT_LABELS.get(group["segment"], "")
        _shown(group["alerts"], distributor)
    return {
        "groups": groups,
        "distributor_alerts": wide,
        "distributor_more": found["distributor_total"] - len(wide),
        "open_count": found["total"],
        "alerts_to_work": found["total"],  # the navigation's count, already counted (alert_tags)
        "page": found["page"],
        "pages": found["pages"],
        # By the user's id: the membership's user row is not read again.
        "digest_enabled": alert_selectors.digest_enabled(distributor=distributor, user=membership.user_id),
    }


def customer_alerts(*, distributor, customer) -> list[Alert]:
    alerts = list(alert_selectors.customer_alerts(distributor=distributor, customer=customer)[:50])
    _shown(alerts, distributor)
    return alerts


def dashboard_context(*, distributor) -> dict:
    """The dashboard's alert panels (counts per kind, distributor-wide alerts, rep response speed),
    cached until the tenant's alerts change (alerts.selectors.alerts_cached) or its reps do (their
    codes and names are part of the key: one small query)."""

    def compute():
        counts = alert_selectors.counts_by_kind(distributor=distributor)
        for row in counts:
            row["label"] = KIND_LABELS.get(row["kind"], row["kind"])
        wide = list(alert_selectors.distributor_alerts(distributor=distributor)[:10])
        alert_selectors.with_subject_labels(wide, distributor)
        for alert in wide:
            alert.kind_label = KIND_LABELS.get(alert.kind, alert.kind)
        return {
            "alert_counts": counts,
            "alert_total": sum(r["count"] for r in counts),
            "alert_amount": sum(r["amount"] for r in counts),
            "wide_alerts": wide,
            "rep_response": alert_selectors.rep_response(distributor=distributor),
        }

    reps = list(rep_list(distributor=distributor).order_by("pk").values_list("pk", "rep_id", "name"))
    key = hashlib.sha256(repr(reps).encode()).hexdigest()
    return alert_selectors.alerts_cached(distributor, f"dashboard:{key}", compute)


class AlertFilter(django_filters.FilterSet):
    """Filters of the alerts list: kind, severity, rep, branch, segment, status (no model: building it
    queries nothing; the branch choices are the tenant's own values)."""

    kind = django_filters.ChoiceFilter(choices=list(Kind.choices), empty_label="Any kind", label="Kind")
    severity = django_filters.ChoiceFilter(choices=list(Severity.choices), empty_label="Any severity")
    status = django_filters.ChoiceFilter(choices=list(Status.choices), empty_label="Any status", label="Status")
    rep = django_filters.CharFilter(field_name="rep__rep_id", lookup_expr="iexact", label="Rep")
    branch = django_filters.ChoiceFilter(field_name="customer__branch", choices=[], empty_label="Any branch")
    segment = django_filters.ChoiceFilter(
        choices=[(s, SEGMENT_LABELS[s]) for s in SEGMENT_ORDER], empty_label="Any segment", label="Segment"
    )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.filters["branch"].extra["choices"] = customer_field_choices("branch")(request)


class AlertTable(LeanTable):
    severity = tables.Column(verbose_name="Severity")
    kind = tables.Column(verbose_name="Kind")
    customer = tables.Column(
        verbose_name="Customer", accessor="customer__customer_id", order_by=("customer__customer_id",)
    )
    subject = tables.Column(verbose_name="Subject")
    amount = tables.Column(verbose_name="At stake", attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    message = tables.Column(verbose_name="Why", orderable=False)
    rep = tables.Column(verbose_name="Rep", accessor="rep__rep_id", default="managers")
    status = tables.Column(verbose_name="Status")

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "alerts-table"}
        order_by_field = "sort"
        per_page = 25
        empty_text = "No alerts match."

    def __init__(self, *args, tenant_slug: str, **kwargs):
        self.tenant_slug = tenant_slug
        super().__init__(*args, **kwargs)

    def cell_value(self, record, name):
        if name == "customer":
            return record.customer.customer_id if record.customer_id else None
        if name == "rep":
            return record.rep.rep_id if record.rep_id else None
        return getattr(record, name)

    def before_render(self):
        self._detail_url = reverse("customer-detail", kwargs={"tenant": self.tenant_slug, "customer_id": "__ID__"})
        shown = self.page.object_list if self.page else self.rows
        alert_selectors.with_subject_labels([row.record for row in shown], self.distributor)

    def render_subject(self, value, record):
        return record.subject_label

    def render_rep(self, value, record):
        return coded(value, record.rep.name)

    def render_customer(self, value, record):
        """The account with its name (the Subject column repeated the bare account for a customer's
        own alerts)."""
        return format_html(
            '<a href="{}">{}</a>',
            self._detail_url.replace("__ID__", erp_id_in_url(value)),
            coded(value, record.customer.name),
        )

    def order_severity(self, queryset, is_descending):
        """By importance (high, medium, low; descending: low first), biggest money first within."""
        order = alert_selectors.SEVERITY_ORDER
        rank = order.desc() if is_descending else order.asc()
        return queryset.order_by(rank, "-amount", "id"), True

    def render_kind(self, value, record=None):
        return KIND_LABELS.get(value, value)

    def render_severity(self, value, record=None):
        label = SEVERITY_LABELS.get(value, value)
        return format_html('<span class="badge {}">{}</span>', SEVERITY_CSS.get(value, ""), label)

    def render_status(self, value, record=None):
        return STATUS_LABELS.get(value, value)  # "Open", as the filters name it

    def render_amount(self, value, record=None):
        return format_money(value, self.distributor)


EXPORT_HEADERS = ("Kind", "Severity", "Subject type", "Subject", "Customer", "Amount", "Status", "Rep", "Segment",
                  "Run", "Message")  # fmt: skip


def export_headers(currency: str) -> list[str]:
    return [f"{h} ({currency})" if h == "Amount" else h for h in EXPORT_HEADERS]


def export_rows(rows):
    for alert in rows.select_related("customer", "rep", "last_run").iterator(chunk_size=2000):
        yield [
            KIND_LABELS.get(alert.kind, alert.kind), SEVERITY_LABELS.get(alert.severity, alert.severity),
            alert.subject_type.replace("_", " ").capitalize(), alert.subject,
            alert.customer.customer_id if alert.customer_id else "", Money(alert.amount),
            STATUS_LABELS.get(alert.status, alert.status), alert.rep.rep_id if alert.rep_id else "",
            SEGMENT_LABELS.get(alert.segment, alert.segment), alert.last_run.number, alert.message,
        ]  # fmt: skip
