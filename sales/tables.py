"""django-tables2 table of the my-customers page. Rows come from `segments.dashboard.customer_rows`
(customers annotated with their current score)."""

import csv
import io
from collections.abc import Iterable, Sequence
from urllib.parse import quote

import django_tables2 as tables
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from openpyxl import Workbook

from imports.safety import escape_row
from segments.dashboard import SEGMENT_LABELS, attention_reasons, movement_of

MOVEMENT_ICONS = {
    "up": ("▲", "text-success", "Moved up"),
    "down": ("▼", "text-danger", "Moved down"),
    "same": ("•", "text-muted", "Unchanged"),
    "new": ("★", "text-primary", "New"),
}


class MyCustomersTable(tables.Table):
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

    class Meta:
        # A lean template: headers, sorting and pagination from django-tables2; cells from
        # `rendered_rows` (the render_* methods called directly, see there).
        template_name = "sales/_customers_table.html"
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "my-customers-table"}
        order_by_field = "sort"
        per_page = 25
        empty_text = "No customers match."

    def __init__(self, *args, tenant_slug: str, show_rep: bool = True, **kwargs):
        self.tenant_slug = tenant_slug
        super().__init__(*args, **kwargs)
        if not show_rep:
            self.columns.hide("rep")

    # django-tables2 resolves every cell through inspect.signature (about a third of the page's time
    # at 25 rows x 10 columns); the page calls these with (value, record) itself instead.
    NO_DEFAULT = frozenset({"movement", "attention"})

    def rendered_rows(self):
        """[(td attributes, cell html), ...] per row of the current page, visible columns only."""
        columns = [
            (c.name, c.attrs.get("td", {}).as_html() if c.attrs.get("td") else "", c.default) for c in self.columns
        ]
        renderers = {name: getattr(self, f"render_{name}", None) for name, _, _ in columns}
        self._detail_url = reverse("customer-detail", kwargs={"tenant": self.tenant_slug, "customer_id": "__ID__"})
        rows = []
        for row in self.page.object_list if self.page else self.rows:
            record, cells = row.record, []
            for name, attrs, default in columns:
                value = self._value(record, name)
                if value in (None, "") and name not in self.NO_DEFAULT:
                    cells.append((attrs, default))
                    continue
                render = renderers[name]
                cells.append((attrs, render(value, record) if render else conditional_escape(value)))
            rows.append(cells)
        return rows

    @staticmethod
    def _value(record, name):
        if name == "rep":
            return record.rep.rep_id if record.rep_id else None
        if name == "movement":
            return record.previous_segment
        if name == "attention":
            return None
        return getattr(record, name)

    def render_customer_id(self, value, record):
        url = getattr(self, "_detail_url", None) or reverse(
            "customer-detail", kwargs={"tenant": self.tenant_slug, "customer_id": "__ID__"}
        )
        return format_html('<a href="{}">{}</a>', url.replace("__ID__", quote(value, safe="")), value)

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
        return f"{value:,.0f}"

    def render_gm_pct(self, value, record=None):
        return f"{value * 100:.1f}%"

    def render_net_profit(self, value, record=None):
        return format_html('<span class="{}">{}</span>', "text-danger" if value < 0 else "", f"{value:,.0f}")

    def render_attention(self, value=None, record=None):
        reasons = attention_reasons(record)
        if not reasons:
            return ""
        return format_html(
            '<span class="badge text-bg-warning" title="{}">⚠ {}</span>'
            '<ul class="attention-reasons small mb-0">{}</ul>',
            "; ".join(reasons),
            len(reasons),
            format_html_join("", "<li>{}</li>", ((r,) for r in reasons)),
        )


EXPORT_COLUMNS = [
    ("Account", "customer_id"),
    ("Customer", "name"),
    ("Branch", "branch"),
    ("Class", "customer_class"),
    ("Rep", "rep__rep_id"),
    ("Segment", "segment"),
    ("Previous segment", "previous_segment"),
    ("Revenue", "revenue"),
    ("GM %", "gm_pct"),
    ("Net profit", "net_profit"),
]


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_response(*, headers: Sequence[str], rows: Iterable[Sequence], fmt: str, filename: str) -> HttpResponse:
    """An attachment holding `headers` then `rows`, every cell through `imports.safety.escape_formula`
    (formula injection); no rows gives a file with the headers only."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(escape_row(headers))
        for row in rows:
            writer.writerow(["" if v is None else v for v in escape_row(row)])
        body = buffer.getvalue().encode("utf-8")
    else:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Customers")
        sheet.append(escape_row(headers))
        for row in rows:
            sheet.append(escape_row(row))
        out = io.BytesIO()
        workbook.save(out)
        body = out.getvalue()
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
