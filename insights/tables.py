"""The my-customers table (rows from `insights.customers.customer_rows`: customers annotated with
their current score) and the columns its export writes."""

from urllib.parse import quote

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from segments.vocabulary import MOVEMENT_CHOICES, SEGMENT_LABELS, movement_of
from stratify.exports import Money, Percent
from stratify.formatting import format_money, format_percent
from stratify.tenancy.converters import encode_erp_id
from stratify.tenancy.lists import LeanTable

from .attention import attention_by_customer

MOVEMENT_ICONS = {
    "up": ("▲", "text-success", "Moved up"),
    "down": ("▼", "text-danger", "Moved down"),
    "same": ("•", "text-muted", "Unchanged"),
    "new": ("★", "text-primary", "New"),
}


class MyCustomersTable(LeanTable):
    customer_id = tables.Column(verbose_name="Account", attrs={"td": {"class": "text-nowrap"}})
    name = tables.Column(verbose_name="Customer")
    segment = tables.Column(verbose_name="Segment", order_by=("seg_rank", "-revenue"), default="—")
    movement = tables.Column(
        verbose_name="Movement", accessor="previous_segment", empty_values=(), order_by=("previous_segment",)
    )
    revenue = tables.Column(verbose_name="Revenue", attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    gm_pct = tables.Column(verbose_name="GM %", attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    net_profit = tables.Column(
        verbose_name="Net profit", attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    attention = tables.Column(verbose_name="Attention", empty_values=(), orderable=False)
    branch = tables.Column(
        verbose_name="Branch",
        attrs={"td": {"class": "d-none d-lg-table-cell"}, "th": {"class": "d-none d-lg-table-cell"}},
    )
    customer_class = tables.Column(
        verbose_name="Class",
        attrs={"td": {"class": "d-none d-lg-table-cell"}, "th": {"class": "d-none d-lg-table-cell"}},
    )
    rep = tables.Column(
        verbose_name="Rep",
        accessor="rep__rep_id",
        default="—",
        attrs={"td": {"class": "d-none d-md-table-cell"}, "th": {"class": "d-none d-md-table-cell"}},
    )

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "my-customers-table"}
        order_by_field = "sort"
        per_page = 25
        empty_text = "No customers match."

    def __init__(self, *args, tenant_slug: str, show_rep: bool = True, **kwargs):
        self.tenant_slug = tenant_slug
        super().__init__(*args, **kwargs)
        if not show_rep:
            self.columns.hide("rep")

    always_render = frozenset({"movement", "attention"})

    def cell_value(self, record, name):
        if name == "rep":
            return record.rep.rep_id if record.rep_id else None
        if name == "movement":
            return record.previous_segment
        if name == "attention":
            return None
        return getattr(record, name)

    def before_render(self):
        self._detail_url = reverse("customer-detail", kwargs={"tenant": self.tenant_slug, "customer_id": "__ID__"})
        # The open alerts of the page's customers, in one query.
        rows = self.page.object_list if self.page else self.rows
        self._attention = attention_by_customer(distributor=self.distributor, customers=[r.record.pk for r in rows])

    def render_customer_id(self, value, record):
        return format_html(
            '<a href="{}">{}</a>', self._detail_url.replace("__ID__", quote(encode_erp_id(value), safe="")), value
        )

    def render_segment(self, value, record=None):
        return format_html(
            '<span class="badge badge-segment segment-{}">{}</span>', value, SEGMENT_LABELS.get(value, value)
        )

    def render_movement(self, value, record):
        movement = movement_of(record.segment, value)
        if not movement:
            return "—"
        icon, css, label = MOVEMENT_ICONS[movement]
        title = f"{label}: from {SEGMENT_LABELS.get(value, value)}" if movement in ("up", "down") else label
        return format_html(
            '<span class="{}" title="{}">{}</span> <span class="small">{}</span>', css, title, icon, label
        )

    def render_revenue(self, value, record=None):
        return format_money(value, self.distributor)

    def render_gm_pct(self, value, record=None):
        return format_percent(value, self.distributor)

    def render_net_profit(self, value, record=None):
        return format_html(
            '<span class="{}">{}</span>', "text-danger" if value < 0 else "", format_money(value, self.distributor)
        )

    def render_attention(self, value=None, record=None):
        reasons = self._attention.get(record.pk, [])
        if not reasons:
            return ""
        return format_html(
            '<span class="badge text-bg-warning" title="{}">⚠ {}</span>'
            '<ul class="attention-reasons small mb-0">{}</ul>',
            "; ".join(reasons),
            len(reasons),
            format_html_join("", "<li>{}</li>", ((r,) for r in reasons)),
        )


# The export's columns: (header, field, kind). Money is rounded to the cent under a header naming the
# currency, GM % is a percentage, segments are their labels (stratify.exports types the cells).
EXPORT_COLUMNS = [
    ("Account", "customer_id", "text"),
    ("Customer", "name", "text"),
    ("Branch", "branch", "text"),
    ("Class", "customer_class", "text"),
    ("Rep", "rep__rep_id", "text"),
    ("Segment", "segment", "segment"),
    ("Previous segment", "previous_segment", "segment"),
    ("Revenue", "revenue", "money"),
    ("GM %", "gm_pct", "percent"),
    ("Net profit", "net_profit", "money"),
]
MOVEMENT_LABELS = dict(MOVEMENT_CHOICES)


def export_headers(*, currency: str) -> list[str]:
    headers = [f"{h} ({currency})" if kind == "money" else h for h, _, kind in EXPORT_COLUMNS]
    return [*headers, "Movement", "Attention"]


def export_row(record: dict, reasons: list[str]) -> list:
    """One customer's export cells from its `EXPORT_COLUMNS` fields and its open alerts in words."""
    cells = []
    for _, field, kind in EXPORT_COLUMNS:
        value = record[field]
        if kind == "segment":
            value = SEGMENT_LABELS.get(value, value) if value else ""
        elif kind == "money":
            value = Money(value)
        elif kind == "percent":
            value = Percent(value)
        cells.append(value)
    movement = movement_of(record["segment"], record["previous_segment"])
    return [*cells, MOVEMENT_LABELS.get(movement, ""), "; ".join(reasons)]
