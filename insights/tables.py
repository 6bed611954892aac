"""The my-customers table (rows from `insights.customers.customer_rows`: customers annotated with
their current score) and the columns its export writes."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from segments.vocabulary import MOVEMENT_CHOICES, SEGMENT_LABELS, movement_of
from stratify.exports import Money, Percent
from stratify.formatting import EMPTY, format_money, format_number, format_percent
from stratify.tenancy.converters import erp_id_in_url
from stratify.tenancy.lists import LeanTable

from .attention import attention_by_customer
from .leakage import YEAR_AGO_COLUMNS

NOT_RANKED = "Not in the run"  # as the customer page says why (no purchase in the run's windows, or none)

MOVEMENT_ICONS = {
    "up": ("▲", "text-success", "Moved up"),
    "down": ("▼", "text-danger", "Moved down"),
    "same": ("•", "text-muted", "Unchanged"),
    "new": ("★", "text-primary", "New"),
}


class MyCustomersTable(LeanTable):
    customer_id = tables.Column(verbose_name="Account", attrs={"td": {"class": "text-nowrap"}})
    name = tables.Column(verbose_name="Customer")
    # A customer the published run does not rank (no purchase in its windows, or none at all).
    segment = tables.Column(verbose_name="Segment", order_by=("seg_rank", "-revenue"), default=NOT_RANKED)
    movement = tables.Column(
        verbose_name="Movement", accessor="previous_segment", empty_values=(), order_by=("movement_rank", "-revenue")
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
        return format_html('<a href="{}">{}</a>', self._detail_url.replace("__ID__", erp_id_in_url(value)), value)

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
        """The count, and the biggest `ATTENTION_SHOWN` alerts in words (a customer may have dozens:
        the rest are counted, all of them in the badge's title and on the customer's page)."""
        reasons = self._attention.get(record.pk, [])
        if not reasons:
            return ""
        shown, more = reasons[:ATTENTION_SHOWN], len(reasons) - ATTENTION_SHOWN
        return format_html(
            '<span class="badge text-bg-warning" title="{}">⚠ {}</span>'
            '<ul class="attention-reasons small mb-0">{}{}</ul>',
            "; ".join(reasons),
            len(reasons),
            format_html_join("", "<li>{}</li>", ((r,) for r in shown)),
            format_html('<li class="text-muted">and {} more</li>', more) if more > 0 else "",
        )


# Alerts listed in the customers table's Attention column (the biggest money first; the rest counted).
ATTENTION_SHOWN = 3

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
            value = SEGMENT_LABELS.get(value, value) if value else (NOT_RANKED if field == "segment" else "")
        elif kind == "money":
            value = Money(value)
        elif kind == "percent":
            value = Percent(value)
        cells.append(value)
    movement = movement_of(record["segment"], record["previous_segment"])
    return [*cells, MOVEMENT_LABELS.get(movement, ""), "; ".join(reasons)]


# --- rep coaching (issue 16) --------------------------------------------------------------------------

RIGHT = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


class CoachingTable(LeanTable):
    """The rep coaching table: one row per rep (dicts from `insights.coaching.rep_table`)."""

    rep_id = tables.Column(verbose_name="Rep")
    name = tables.Column(verbose_name="Name")
    customers = tables.Column(verbose_name="Customers", attrs=RIGHT)
    core_customers = tables.Column(verbose_name="Core", attrs=RIGHT)
    core_share_customers = tables.Column(verbose_name="Core % of customers", attrs=RIGHT)
    core_share_revenue = tables.Column(verbose_name="Core % of revenue", attrs=RIGHT)
    revenue = tables.Column(verbose_name="Revenue", attrs=RIGHT)
    net_profit = tables.Column(verbose_name="Net profit", attrs=RIGHT)
    net_margin_pct = tables.Column(verbose_name="Net margin %", attrs=RIGHT)
    cost_to_serve_per_1000 = tables.Column(verbose_name="Cost-to-serve per 1,000", attrs=RIGHT)
    moved_up = tables.Column(verbose_name="Up", attrs=RIGHT)
    moved_down = tables.Column(verbose_name="Down", attrs=RIGHT)
    into_core = tables.Column(verbose_name="Into core", attrs=RIGHT)
    out_of_core = tables.Column(verbose_name="Out of core", attrs=RIGHT)
    core_below_benchmark = tables.Column(verbose_name="Core below category benchmark", attrs=RIGHT)
    alerts = tables.Column(verbose_name="Open alerts (money at stake)", orderable=False, attrs=RIGHT)
    points = tables.Column(verbose_name="Coaching points", orderable=False)

    always_render = frozenset({"customers", "core_customers", "moved_up", "moved_down", "into_core", "out_of_core"})

    class Meta(LeanTable.Meta):
        # Each rep's coaching points are a full-width row under their figures (a column of their own
        # was squeezed to a few words a line), and the team median is the table's footer, under the
        # same columns: insights/_coaching_table.html.
        template_name = "insights/_coaching_table.html"
        attrs = {"class": "table table-sm align-middle mb-0", "id": "coaching-table"}
        order_by_field = "sort"
        per_page = 50
        empty_text = "No reps."

    def __init__(self, *args, tenant_slug: str, show_alerts: bool = False, median: dict | None = None, **kwargs):
        self.tenant_slug = tenant_slug
        self.median = median
        super().__init__(*args, **kwargs)
        if not show_alerts:
            self.columns.hide("alerts")
        self.columns.hide("points")

    def rep_rows(self) -> list[dict]:
        """Per rep of the page: its cells (the visible columns) and its coaching points."""
        records = [row.record for row in (self.page.object_list if self.page else self.rows)]
        return [
            {"cells": cells, "points": record.get("points") or []}
            for cells, record in zip(self.rendered_rows(), records, strict=True)
        ]

    def median_cells(self) -> list[str]:
        """The team median under the table's columns (after the label, which spans Rep and Name):
        counts to one decimal where the median falls between two reps, money and ratios as the rows."""
        if not self.median:
            return []
        cells = []
        for column in self.columns:
            name = column.name
            if name in ("rep_id", "name"):
                continue
            value = self.median.get(name)
            if name == "alerts" or value is None:
                cells.append(EMPTY)
            elif name in ("revenue", "net_profit", "cost_to_serve_per_1000"):
                cells.append(self._money(value))
            elif name in ("core_share_customers", "core_share_revenue", "net_margin_pct"):
                cells.append(self._ratio(value))
            else:
                cells.append(format_number(value, self.distributor, 0 if float(value).is_integer() else 1))
        return cells

    def before_render(self):
        self._rep_url = reverse("coaching-rep", kwargs={"tenant": self.tenant_slug, "rep_id": "__ID__"})

    def render_rep_id(self, value, record):
        return format_html('<a href="{}">{}</a>', self._rep_url.replace("__ID__", erp_id_in_url(value)), value)

    def _money(self, value, record=None):
        return format_html(
            '<span class="{}">{}</span>', "text-danger" if value < 0 else "", format_money(value, self.distributor)
        )

    render_revenue = render_net_profit = render_cost_to_serve_per_1000 = _money

    def _ratio(self, value, record=None):
        return format_percent(value, self.distributor)

    render_core_share_customers = render_core_share_revenue = render_net_margin_pct = _ratio

    def render_alerts(self, value, record=None):
        return f"{value['open']} ({format_money(value['money_at_stake'], self.distributor)})"

    def render_points(self, value, record=None):
        return format_html_join("", '<div class="small">{}</div>', ((p,) for p in value))


COACHING_COUNTS = ("customers", "core_customers", "moved_up", "moved_down", "into_core", "out_of_core")


def coaching_export_headers(*, currency: str) -> list[str]:
    from segments.vocabulary import RANKED_SEGMENTS

    segments = []
    for s in RANKED_SEGMENTS:
        segments += [f"{SEGMENT_LABELS[s]} customers", f"{SEGMENT_LABELS[s]} net profit ({currency})"]
    return [
        "Rep",
        "Name",
        "Customers",
        *segments,  # "Core customers" first: the core count is the first segment's
        "Core % of customers",
        "Core % of revenue",
        f"Revenue ({currency})",
        f"Gross margin ({currency})",
        f"Cost to serve ({currency})",
        f"Net profit ({currency})",
        "Net margin %",
        f"Cost-to-serve per 1,000 of revenue ({currency})",
        "Moved up",
        "Moved down",
        "Into core",
        "Out of core",
        f"Net profit into core ({currency})",
        f"Net profit out of core ({currency})",
        "Core customers below category benchmark",
        "Coaching points",
    ]


def coaching_export_row(row: dict) -> list:
    from segments.vocabulary import RANKED_SEGMENTS

    pct = lambda v: None if v is None else Percent(v)  # noqa: E731
    segments = []
    for s in RANKED_SEGMENTS:
        segments += [row["segments"][s]["customers"], Money(row["segments"][s]["net_profit"])]
    return [
        row["rep_id"] or "Team median",
        row["name"] if row["rep_id"] else "",  # the median row is named once
        row["customers"],
        *segments,
        pct(row["core_share_customers"]),
        pct(row["core_share_revenue"]),
        Money(row["revenue"]),
        Money(row["gross_margin"]),
        Money(row["cost_to_serve"]),
        Money(row["net_profit"]),
        pct(row["net_margin_pct"]),
        Money(row["cost_to_serve_per_1000"]),
        row["moved_up"],
        row["moved_down"],
        row["into_core"],
        row["out_of_core"],
        Money(row["net_profit_into_core"]),
        Money(row["net_profit_out_of_core"]),
        row["core_below_benchmark"],
        "; ".join(row.get("points", [])),
    ]


# --- leakage (issue 16) --------------------------------------------------------------------------------


class LeakageTable(LeanTable):
    """Leakage among core customers, one row per value (dicts from `insights.leakage.leakage_rows`)."""

    value = tables.Column(verbose_name="Value")
    buyers = tables.Column(verbose_name="Core buyers", attrs=RIGHT)
    buyer_share = tables.Column(verbose_name="Share of core customers", attrs=RIGHT)
    revenue = tables.Column(verbose_name="Core revenue (window)", attrs=RIGHT)
    prior_revenue = tables.Column(verbose_name="Prior window", attrs=RIGHT)
    change_vs_prior = tables.Column(verbose_name="vs prior", attrs=RIGHT)
    year_ago_revenue = tables.Column(verbose_name="A year earlier", attrs=RIGHT)
    change_vs_year_ago = tables.Column(verbose_name="vs a year earlier", attrs=RIGHT)
    stopped = tables.Column(verbose_name="Stopped", attrs=RIGHT)
    cut = tables.Column(verbose_name="Cut", attrs=RIGHT)
    leaked = tables.Column(verbose_name="Money leaked", attrs=RIGHT)
    top_losers = tables.Column(verbose_name="Stopped or cut most", orderable=False)

    always_render = frozenset({"buyers", "stopped", "cut"})

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "leakage-table"}
        order_by_field = "sort"
        per_page = 25
        empty_text = "No core customer bought anything in these windows."

    def __init__(
        self,
        *args,
        tenant_slug: str,
        dimension: str,
        names: dict[str, str] | None = None,
        year_ago: bool = True,
        **kwargs,
    ):
        """`names`: how the values read (`segments.names.value_names`: a supplier with its name);
        `year_ago`: False when a year earlier is the prior window (its columns would repeat it)."""
        self.tenant_slug, self.dimension, self.names = tenant_slug, dimension, names or {}
        super().__init__(*args, **kwargs)
        if not year_ago:
            for name in YEAR_AGO_COLUMNS:
                self.columns.hide(name)

    def before_render(self):
        self._url = reverse("leakage-customers", kwargs={"tenant": self.tenant_slug})

    def render_value(self, value, record=None):
        from urllib.parse import urlencode

        from segments.names import named

        query = urlencode({"dimension": self.dimension, "value": value})
        return format_html('<a href="{}?{}">{}</a>', self._url, query, named(value, self.names))

    def _money(self, value, record=None):
        return format_money(value, self.distributor)

    render_revenue = render_prior_revenue = render_year_ago_revenue = render_leaked = _money

    def _ratio(self, value, record=None):
        return format_percent(value, self.distributor)

    render_buyer_share = render_change_vs_prior = render_change_vs_year_ago = _ratio

    def render_top_losers(self, value, record=None):
        return ", ".join(value)


# The "a year earlier" cells of a leakage export's rows, and of its drill-down's: left out when a year
# earlier is the prior window (see insights.leakage.year_ago_is_prior).
LEAKAGE_YEAR_AGO = slice(6, 8)
LEAKAGE_CUSTOMERS_YEAR_AGO = slice(4, 5)


def _without(cells: list, part: slice) -> list:
    return cells[: part.start] + cells[part.stop :]


def leakage_export_headers(*, currency: str, label: str, year_ago: bool = True) -> list[str]:
    headers = [
        label,
        "Core buyers",
        "Share of core customers %",
        f"Core revenue in the window ({currency})",
        f"Prior window ({currency})",
        "Change vs prior %",
        f"A year earlier ({currency})",
        "Change vs a year earlier %",
        "Stopped",
        "Cut",
        f"Money leaked ({currency})",
        "Stopped or cut most",
    ]
    return headers if year_ago else _without(headers, LEAKAGE_YEAR_AGO)


def leakage_export_row(row: dict, names: dict[str, str] | None = None, year_ago: bool = True) -> list:
    from segments.names import named

    pct = lambda v: None if v is None else Percent(v)  # noqa: E731
    out = [
        named(row["value"], names or {}),
        row["buyers"],
        pct(row["buyer_share"]),
        Money(row["revenue"]),
        Money(row["prior_revenue"]),
        pct(row["change_vs_prior"]),
        Money(row["year_ago_revenue"]),
        pct(row["change_vs_year_ago"]),
        row["stopped"],
        row["cut"],
        Money(row["leaked"]),
        ", ".join(row["top_losers"]),
    ]
    return out if year_ago else _without(out, LEAKAGE_YEAR_AGO)


class LeakageCustomersTable(LeanTable):
    """The core customers behind one leakage value."""

    customer_id = tables.Column(verbose_name="Account")
    name = tables.Column(verbose_name="Customer")
    revenue = tables.Column(verbose_name="Window", attrs=RIGHT)
    prior_revenue = tables.Column(verbose_name="Prior window", attrs=RIGHT)
    year_ago_revenue = tables.Column(verbose_name="A year earlier", attrs=RIGHT)
    drop = tables.Column(verbose_name="Drop vs prior", attrs=RIGHT)
    status = tables.Column(verbose_name="Status")

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "leakage-customers-table"}
        order_by_field = "sort"
        per_page = 50
        empty_text = "No core customer bought this value in these windows."

    def __init__(self, *args, tenant_slug: str, year_ago: bool = True, **kwargs):
        self.tenant_slug = tenant_slug
        super().__init__(*args, **kwargs)
        if not year_ago:
            self.columns.hide("year_ago_revenue")

    def before_render(self):
        self._detail_url = reverse("customer-detail", kwargs={"tenant": self.tenant_slug, "customer_id": "__ID__"})

    def render_customer_id(self, value, record):
        return format_html('<a href="{}">{}</a>', self._detail_url.replace("__ID__", erp_id_in_url(value)), value)

    def _money(self, value, record=None):
        return format_money(value, self.distributor)

    render_revenue = render_prior_revenue = render_year_ago_revenue = render_drop = _money


def leakage_customers_export_headers(*, currency: str, year_ago: bool = True) -> list[str]:
    headers = [
        "Account",
        "Customer",
        f"Window ({currency})",
        f"Prior window ({currency})",
        f"A year earlier ({currency})",
        f"Drop vs prior ({currency})",
        "Status",
    ]
    return headers if year_ago else _without(headers, LEAKAGE_CUSTOMERS_YEAR_AGO)


def leakage_customers_export_row(row: dict, year_ago: bool = True) -> list:
    out = [
        row["customer_id"],
        row["name"],
        Money(row["revenue"]),
        Money(row["prior_revenue"]),
        Money(row["year_ago_revenue"]),
        Money(row["drop"]),
        row["status"],
    ]
    return out if year_ago else _without(out, LEAKAGE_CUSTOMERS_YEAR_AGO)


# --- history (issue 16) --------------------------------------------------------------------------------


def history_export_headers(*, currency: str) -> list[str]:
    from insights.history import SHOWN  # the page's order (SEGMENT_ORDER): core, opportunistic, ...

    per_segment = []
    for s in SHOWN:
        label = SEGMENT_LABELS[s]
        per_segment += [f"{label} customers", f"{label} share of revenue %", f"{label} share of net profit %"]
    return [
        "Run",
        "As of",
        "Published",
        "Ranked customers",
        *per_segment,
        f"Revenue ({currency})",
        f"Net profit ({currency})",
        f"Whale peak ({currency})",
        "Core retention %",
        "Settings changed",
    ]


def history_export_row(entry: dict) -> list:
    from insights.history import SHOWN

    per_segment = []
    for s in SHOWN:
        seg = entry["segments"].get(s, {"count": 0, "revenue_share": 0.0, "net_profit_share": 0.0})
        per_segment += [seg["count"], Percent(seg["revenue_share"]), Percent(seg["net_profit_share"])]
    return [
        entry["number"],
        entry["as_of"],
        entry["published_at"],
        entry["customers"],
        *per_segment,
        Money(entry["revenue"]),
        Money(entry["net_profit"]),
        Money(entry["whale_peak"]),
        None if entry["core_retention"] is None else Percent(entry["core_retention"]),
        "; ".join(f"{label}: {a} -> {b}" for label, a, b in entry["settings_changes"]),
    ]


# --- segments and categories side by side (issue 16) ---------------------------------------------------


class SideBySideTable(LeanTable):
    """Per category: revenue, net profit and net margin of each segment's customers, core first,
    and the category's total (dicts from `insights.side_by_side.categories`)."""

    value = tables.Column(verbose_name="Category")

    class Meta(LeanTable.Meta):
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "side-by-side-table"}
        order_by_field = "sort"
        per_page = 50
        empty_text = "No categories (the profit centers of this run are not computed yet)."

    def __init__(self, *args, **kwargs):
        from .side_by_side import CATEGORY_FIGURES, SEGMENTS

        names = {"revenue": "revenue", "net_profit": "net profit", "net_margin_pct": "net margin %"}
        extra = []
        for s in (*SEGMENTS, "total"):
            label = SEGMENT_LABELS.get(s, "Total")
            for key in CATEGORY_FIGURES:
                extra.append((f"{s}__{key}", tables.Column(verbose_name=f"{label}: {names[key]}", attrs=RIGHT)))
        super().__init__(*args, extra_columns=extra, **kwargs)

    def render_value(self, value, record=None):
        from segments.profit_centers import shown

        return shown(value)

    def __getattr__(self, name):
        if name.startswith("render_") and "__" in name:
            if name.endswith("net_margin_pct"):
                return lambda value, record=None: format_percent(value, self.distributor)
            return lambda value, record=None: format_money(value, self.distributor)
        raise AttributeError(name)


def side_by_side_export_headers(*, currency: str) -> list[str]:
    from .side_by_side import CATEGORY_FIGURES, SEGMENTS

    names = {
        "revenue": f"revenue ({currency})",
        "net_profit": f"net profit ({currency})",
        "net_margin_pct": "net margin %",
    }
    headers = ["Category"]
    for s in (*SEGMENTS, "total"):
        headers += [f"{SEGMENT_LABELS.get(s, 'Total')}: {names[k]}" for k in CATEGORY_FIGURES]
    return headers


def side_by_side_export_row(row: dict) -> list:
    from segments.profit_centers import shown

    from .side_by_side import CATEGORY_FIGURES, SEGMENTS

    cells = [shown(row["value"])]
    for s in (*SEGMENTS, "total"):
        for key in CATEGORY_FIGURES:
            value = row[f"{s}__{key}"]
            if value is None:
                cells.append(None)
            else:
                cells.append(Percent(value) if key == "net_margin_pct" else Money(value))
    return cells
