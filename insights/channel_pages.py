"""Tables, filters and figures of the Channels pages (issue 14): partners (list and page) and the
Interactions page. The partner figures come from the run's cached flows (insights.channel_map) and
its profit centers (segments.selectors.profit_center_list); nothing is computed row by row."""

from __future__ import annotations

import django_filters
import django_tables2 as tables
from django.db.models import CharField, Count, OuterRef, Q, Subquery, Value
from django.urls import reverse
from django.utils.html import format_html

from channels import channel_map as cm
from channels.models import Interaction, Partner
from segments.models import CustomerScore
from segments.names import coded
from segments.selectors import profit_center_list
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER
from stratify.formatting import format_date, format_money, money_decimal
from stratify.tenancy.converters import erp_id_in_url
from stratify.tenancy.lists import LeanTable

from .caching import run_cached
from .channel_map import flows_for

RIGHT = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


# --- partners ------------------------------------------------------------------------------------


def partner_figures(*, distributor, run) -> dict[str, dict]:
    """partner_id -> {revenue, lines, customers, segments: {segment: customers}} in the run's window
    (cached per run). Partners without lines in the window are absent."""

    def compute():
        frame = flows_for(distributor=distributor, run=run).frame
        frame = cm.plain(frame[frame["partner"] != ""]) if not frame.empty else frame
        out = {}
        for pid, group in frame.groupby("partner"):
            out[pid] = {
                "revenue": money_decimal(cm.money(int(group["revenue_units"].sum()))),
                "lines": int(group["lines"].sum()),
                "customers": int(group["cpk"].nunique()),
                "segments": {s: int(n) for s, n in group.groupby("segment")["cpk"].nunique().items()},
                "customer_classes": {
                    (c or cm.NONE): int(n)
                    for c, n in group.groupby("customer_class")["cpk"].nunique().sort_values(ascending=False).items()
                },
                "ship_methods": cm._shares(group.groupby("ship")["lines"].sum()),
            }
        return out

    if run is None:
        return {}
    return run_cached(distributor, run, "partner-figures", compute)


def partner_profit(*, distributor, run, partner_id: str):
    """The partner's profit-center row of the run (None before the profit-centers job ran)."""
    if run is None:
        return None
    return profit_center_list(distributor=distributor, run=run, dimension="partner").filter(value=partner_id).first()


class PartnerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(choices=Partner.Kind.choices, empty_label="Any kind", label="Kind")
    region = django_filters.CharFilter(field_name="region", lookup_expr="iexact", label="Region")

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(partner_id__icontains=value) | Q(services__icontains=value))


class PartnerTable(LeanTable):
    partner_id = tables.Column(verbose_name="Partner id")
    name = tables.Column(verbose_name="Name")
    kind = tables.Column(verbose_name="Kind")
    region = tables.Column(verbose_name="Region")
    revenue = tables.Column(verbose_name="Revenue (window)", empty_values=(), orderable=False, attrs=RIGHT)
    customers = tables.Column(verbose_name="Customers", empty_values=(), orderable=False, attrs=RIGHT)

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "partners-table"}
        order_by_field = "sort"
        per_page = 50
        empty_text = "No partners: import them (kind partners) or they appear with your lines."

    def __init__(self, *args, tenant_slug: str, figures: dict, **kwargs):
        self.tenant_slug, self.figures = tenant_slug, figures
        super().__init__(*args, **kwargs)

    def cell_value(self, record, name):
        if name in ("revenue", "customers"):
            return self._figure(record, name)
        return super().cell_value(record, name)

    def _figure(self, record, name):
        """The partner's `revenue` or `customers` in the run's window (not fields of the partner)."""
        return (self.figures.get(record.partner_id) or {}).get(name)

    def render_partner_id(self, value, record):
        url = reverse("partner-detail", kwargs={"tenant": self.tenant_slug, "partner_id": "~"})
        return format_html('<a href="{}">{}</a>', url.replace("~7E", erp_id_in_url(value)), value)

    def render_kind(self, value, record):
        return record.get_kind_display()

    def render_revenue(self, value, record):
        return format_money(value, self.distributor)

    def value_partner_id(self, value, record):
        return value

    def value_kind(self, value, record):
        return record.get_kind_display()

    def value_revenue(self, value, record):
        return self._figure(record, "revenue")  # a Decimal to the cent (as_values writes it as text)

    def value_customers(self, value, record):
        return self._figure(record, "customers")


# --- interactions --------------------------------------------------------------------------------


def interaction_rows(queryset, *, run):
    """Interactions with their customer, rep and the customer's segment in the published run."""
    rows = queryset.select_related("customer", "rep")
    if run is None:
        return rows.annotate(segment=Value(None, output_field=CharField()))
    segment = CustomerScore.objects.filter(
        distributor_id=run.distributor_id, run=run, customer_id=OuterRef("customer_id")
    ).values("segment")[:1]
    return rows.annotate(segment=Subquery(segment))


class InteractionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search notes")
    kind = django_filters.ChoiceFilter(choices=Interaction.Kind.choices, empty_label="Any kind", label="Kind")
    channel = django_filters.CharFilter(field_name="channel", lookup_expr="iexact", label="Channel")
    rep = django_filters.CharFilter(field_name="rep__rep_id", label="Rep")
    customer_class = django_filters.CharFilter(field_name="customer__customer_class", label="Class")
    segment = django_filters.ChoiceFilter(
        choices=[(s, SEGMENT_LABELS[s]) for s in SEGMENT_ORDER], empty_label="Any segment", label="Segment"
    )
    opportunity = django_filters.BooleanFilter(field_name="opportunity", label="Opportunity")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="From")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="To")
    customer = django_filters.CharFilter(field_name="customer__customer_id", label="Account")

    def search(self, queryset, name, value):
        return queryset.filter(Q(summary__icontains=value) | Q(usage_notes__icontains=value))


class InteractionTable(LeanTable):
    date = tables.Column(verbose_name="Date")
    customer = tables.Column(
        verbose_name="Customer", accessor="customer__customer_id", order_by=("customer__customer_id",)
    )
    segment = tables.Column(verbose_name="Segment", default="—")
    kind = tables.Column(verbose_name="Kind")
    channel = tables.Column(verbose_name="Channel", default="—")
    rep = tables.Column(verbose_name="Rep", accessor="rep__rep_id", default="—")
    summary = tables.Column(verbose_name="Summary", orderable=False)
    usage_notes = tables.Column(verbose_name="Usage notes", orderable=False, default="")
    opportunity = tables.Column(verbose_name="Opportunity", attrs=RIGHT)

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "interactions-table"}
        order_by_field = "sort"
        per_page = 50
        empty_text = "No interactions match."

    def __init__(self, *args, tenant_slug: str, **kwargs):
        self.tenant_slug = tenant_slug
        super().__init__(*args, **kwargs)

    def before_render(self):
        self._url = reverse("customer-detail", kwargs={"tenant": self.tenant_slug, "customer_id": "~"})

    def render_customer(self, value, record):
        return format_html(
            '<a href="{}">{}</a> <span class="text-muted small">{}</span>',
            self._url.replace("~7E", erp_id_in_url(value)),
            value,
            record.customer.name,
        )

    def render_segment(self, value, record):
        return SEGMENT_LABELS.get(value, value)

    def render_rep(self, value, record):
        return coded(value, record.rep.name)

    def render_date(self, value, record):
        return format_date(value, self.distributor)

    def value_date(self, value, record):
        return value

    def render_kind(self, value, record):
        return record.get_kind_display()

    def render_opportunity(self, value, record):
        return "Yes" if value else "No"

    def value_customer(self, value, record):
        return value

    def value_opportunity(self, value, record):
        return "yes" if value else "no"


def interaction_counts(rows) -> dict:
    """Counts of the filtered interactions per segment, by kind and by channel (one GROUP BY each)."""
    by_kind = rows.order_by().values("segment", "kind").annotate(n=Count("pk"))
    by_channel = rows.order_by().values("segment", "channel").annotate(n=Count("pk"))
    segments = list(SEGMENT_ORDER)
    kinds = sorted({r["kind"] for r in by_kind})
    channels = sorted({r["channel"] or cm.NONE for r in by_channel})
    kind_cells = {(r["segment"], r["kind"]): r["n"] for r in by_kind}
    channel_cells = {}
    for r in by_channel:
        key = (r["segment"], r["channel"] or cm.NONE)
        channel_cells[key] = channel_cells.get(key, 0) + r["n"]
    present = [s for s in [*segments, None] if any(k[0] == s for k in kind_cells)]
    kind_labels = dict(Interaction.Kind.choices)
    return {
        "segments": [(s, SEGMENT_LABELS.get(s, "No segment")) for s in present],
        "kind_pairs": [(kind_labels.get(k, k), [kind_cells.get((s, k), 0) for s in present]) for k in kinds],
        "channel_pairs": [(c, [channel_cells.get((s, c), 0) for s in present]) for c in channels],
    }
