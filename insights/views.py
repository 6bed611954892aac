"""The read side's pages: the manager's dashboard, my customers (with exports), the customer page
and its printable account review (where interactions are logged), and the customer's scorecard
(a customer's own, or staff's "view as customer")."""

import hashlib
import json
from decimal import Decimal
from itertools import islice
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.text import slugify
from django.views.generic import TemplateView

from alerts.lookups import ALERT
from alerts.models import SETTING_FIELDS
from alerts.selectors import alert_list
from alerts.selectors import settings_for as alert_settings_for
from alerts.services import AlertError, alert_set_status, digest_subscribe
from alerts.services import settings_update as alert_settings_update
from channels.channel_map import ACTIVITIES, NONE
from channels.forms import InteractionForm, PartnerForm
from channels.lookups import PARTNER
from channels.models import Interaction
from channels.selectors import interaction_list, partner_list
from channels.services import interaction_log, partner_update
from operations import selectors as ops
from operations import services as ops_services
from operations.models import OperationsSettings
from sales.lookups import CUSTOMER
from sales.selectors import customer_list, rep_list
from segments.models import ProfitCenter
from segments.names import named, value_names
from segments.profit_centers import DEFAULT_DIMENSION, DIMENSIONS, unknown_dimension
from segments.selectors import pending_run, profit_center_list, published_runs
from segments.vocabulary import SEGMENT_COLORS, SEGMENT_LABELS, SEGMENT_ORDER
from stratify.exports import EXPORT_FORMATS, Money, export_response
from stratify.formatting import format_money
from stratify.tenancy.lists import TenantListView
from stratify.tenancy.permissions import Perm, Role
from stratify.tenancy.views import TenantViewMixin

from . import alerts as alert_pages
from . import channel_map, channel_pages, dashboard, definitions, gaps, history, leakage, profit, side_by_side
from . import operations as ops_pages
from .attention import attention_by_customer
from .benchframe import (
    SLICES,
    Slice,
    SliceError,
    assignment_stamp,
    parse_slice,
    run_frame,
    slice_cached,
    slice_choices,
)
from .coaching import FIGURES, REP, rep_table, visible_reps
from .customers import INTERACTIONS_PER_PAGE, customer_page_context, customer_rows, trend_columns
from .filters import MyCustomersFilter
from .profit import ProfitCenterFilter, ProfitCenterTable
from .scorecard import scorecard_data
from .tables import (
    EXPORT_COLUMNS,
    CoachingTable,
    LeakageCustomersTable,
    LeakageTable,
    MyCustomersTable,
    SideBySideTable,
    coaching_export_headers,
    coaching_export_row,
    export_headers,
    export_row,
    history_export_headers,
    history_export_row,
    leakage_customers_export_headers,
    leakage_customers_export_row,
    leakage_export_headers,
    leakage_export_row,
    side_by_side_export_headers,
    side_by_side_export_row,
)


class SliceMixin:
    """`?slice_by=&slice=`: the slice of the page (see insights.benchframe); `slice_error` names the
    allowed dimensions or values when the request asks for something else."""

    def read_slice(self, run):
        self.stamp = assignment_stamp(self.distributor)
        self.slice, self.slice_error, self.slice_choices = Slice(), None, {}
        if run is None:
            return
        self.slice_choices = slice_choices(self.distributor, run, self.stamp)
        try:
            self.slice = parse_slice(self.request.GET, self.slice_choices)
        except SliceError as error:
            self.slice_error = str(error)

    def slice_context(self) -> dict:
        return {
            "slice": self.slice,
            "slice_error": self.slice_error,
            "slice_dimensions": [(k, v[0]) for k, v in SLICES.items()],
            "slice_choices": self.slice_choices,
        }


class DashboardView(SliceMixin, TenantViewMixin, TemplateView):
    """Per-segment figures, the quadrant chart (its points load from `QuadrantDataView`), the whale
    curve and the migration matrix of the published run. `?slice_by=&slice=` recomputes the figures
    for a slice of the customers from the run's per-customer table (400 naming the allowed
    dimensions or values for another)."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/dashboard.html"

    def get(self, request, *args, **kwargs):
        self.runs = published_runs(distributor=self.distributor)
        self.read_slice(self.runs[0])
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if self.slice_error else 200)

    def get_context_data(self, **kwargs):
        run, previous = self.runs
        context = {"run": run, "previous_run": previous, **self.slice_context()}
        if run is not None:
            if self.slice.active:

                def sliced():
                    frame = self.slice.apply(run_frame(self.distributor, run, self.stamp))
                    return {
                        "summary": history.summary(frame),
                        "whale": history.whale(frame),
                        "migration": history.migration_in_run(frame),
                    }

                figures = slice_cached(self.distributor, run, self.stamp, self.slice, "dashboard", sliced)
            else:
                figures = {
                    "summary": dashboard.segment_summary(distributor=self.distributor, run=run),
                    "whale": dashboard.whale_curve(distributor=self.distributor, run=run),
                    "migration": dashboard.migration_matrix(distributor=self.distributor, run=run),
                }
            context.update(
                **figures,
                thresholds=dashboard.thresholds(run),
                colors=SEGMENT_COLORS,
                profit_centers=profit.top_centers_and_drains(
                    distributor=self.distributor, run=run, dimension=self._profit_dimension()
                ),
                profit_dimensions=[(k, v[0]) for k, v in DIMENSIONS.items()],
            )
        context["pending_run"] = pending_run(distributor=self.distributor)
        context.update(alert_pages.dashboard_context(distributor=self.distributor))
        return super().get_context_data(**context, **kwargs)

    def _profit_dimension(self) -> str:
        """The dimension of the profit-centers card (`?profit_by=`; default category)."""
        chosen = self.request.GET.get("profit_by")
        return chosen if chosen in DIMENSIONS else DEFAULT_DIMENSION


class QuadrantDataView(TenantViewMixin, TemplateView):
    """JSON of the quadrant chart (every ranked customer's value and profit scores); cached per run."""

    permission = Perm.VIEW_DASHBOARD

    def get(self, request, *args, **kwargs):
        run, _ = published_runs(distributor=self.distributor)
        if run is None:
            return JsonResponse({"datasets": [], "thresholds": {}})
        stamp = assignment_stamp(self.distributor)
        try:
            cut = parse_slice(request.GET, slice_choices(self.distributor, run, stamp))
        except SliceError as error:
            return JsonResponse({"detail": str(error)}, status=400)
        if cut.active:

            def sliced():
                accounts = set(cut.apply(run_frame(self.distributor, run, stamp))["account"])
                data = dashboard.quadrant_points(distributor=self.distributor, run=run)
                datasets = [{**d, "points": [p for p in d["points"] if p[2] in accounts]} for d in data["datasets"]]
                return json.dumps({**data, "datasets": datasets}).encode()

            body = slice_cached(self.distributor, run, stamp, cut, "quadrant", sliced)
            return HttpResponse(body, content_type="application/json")
        return HttpResponse(
            dashboard.quadrant_json(distributor=self.distributor, run=run), content_type="application/json"
        )


def customer_export_rows(*, distributor, rows):
    """The customers export's rows (my customers, a rep's page): the attention column is the
    customers' open alerts, read a chunk of customers at a time."""
    fields = ["pk"] + [f for _, f, _ in EXPORT_COLUMNS]
    chunk = []
    for row in rows.values_list(*fields).iterator(chunk_size=2000):
        chunk.append(dict(zip(fields, row, strict=True)))
        if len(chunk) == 2000:
            yield from _export_chunk(distributor, chunk)
            chunk = []
    yield from _export_chunk(distributor, chunk)


def _export_chunk(distributor, chunk):
    reasons = attention_by_customer(distributor=distributor, customers=[r["pk"] for r in chunk])
    for record in chunk:
        yield export_row(record, reasons.get(record["pk"], []))


class MyCustomersView(TenantListView):
    """A rep's assigned customers (a manager: all), core first, with filters, search and exports."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/my_customers.html"
    table_class = MyCustomersTable
    filterset_class = MyCustomersFilter
    per_page = 25
    export_name = "customers"

    def get_queryset(self):
        self.run, self.previous_run = published_runs(distributor=self.distributor)
        return customer_rows(distributor=self.distributor, membership=self.membership, run=self.run)

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug, "show_rep": self.membership.role == Role.MANAGER}

    def export_headers(self):
        return export_headers(currency=self.distributor.currency)

    def export_rows(self, rows):
        return customer_export_rows(distributor=self.distributor, rows=rows)

    def get_context_data(self, **kwargs):
        form = self.filterset.form
        # The selects are written out in the template: Django's template-based widget rendering was a
        # tenth of this page's time.
        selects = [
            (name, form.fields[name].label or name.title(), list(form.fields[name].choices), form[name].value() or "")
            for name in ("segment", "branch", "customer_class", "movement")
        ]
        return super().get_context_data(selects=selects, run=self.run, **kwargs)


class CustomerPageMixin(TenantViewMixin):
    """The customer named by the URL (404 for one the caller may not see, exactly like a missing one)."""

    lookups = (CUSTOMER,)
    interactions_per_page = INTERACTIONS_PER_PAGE

    def customer_context(self, **extra) -> dict:
        context = customer_page_context(
            distributor=self.distributor,
            membership=self.membership,
            customer=self.customer,
            interactions_page=self.request.GET.get("interactions_page", 1),
            interactions_per_page=self.interactions_per_page,
        )
        context["customer_alerts"] = alert_pages.customer_alerts(distributor=self.distributor, customer=self.customer)
        return {**context, **extra}


class CustomerDetailView(CustomerPageMixin, TemplateView):
    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/customer_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**self.customer_context(), **kwargs)


class CustomerReviewView(CustomerDetailView):
    """The printable account review: the same facts, laid out for paper (two pages: the most recent
    interactions only)."""

    template_name = "insights/customer_review.html"
    interactions_per_page = 8


class InteractionCreateView(CustomerPageMixin, TemplateView):
    """POST only: log an interaction (reps and managers, for customers they may see). On errors the
    customer page is shown again (400) with the form and its errors."""

    permission = {"POST": Perm.LOG_INTERACTIONS}
    template_name = "insights/customer_detail.html"

    def post(self, request, *args, **kwargs):
        form = InteractionForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.customer_context(interaction_form=form), status=400)
        interaction_log(
            distributor=self.distributor,
            customer=self.customer,
            membership=self.membership,
            actor=request.user,
            data=form.cleaned_data,
        )
        messages.success(request, "Interaction logged.")
        return redirect("customer-detail", tenant=self.distributor.slug, customer_id=self.customer.customer_id)


class ScorecardView(TenantViewMixin, TemplateView):
    """A customer user's own scorecard. Staff opening /scorecard/ are sent to the customer list,
    where each customer has a "view as customer" link."""

    permission = Perm.VIEW_SCORECARD
    template_name = "insights/scorecard.html"

    def get(self, request, *args, **kwargs):
        if self.membership.role != Role.CUSTOMER:
            return redirect("my-customers", tenant=self.distributor.slug)
        customer = customer_list(distributor=self.distributor, membership=self.membership).first()
        if customer is None:
            raise Http404("This account is not linked to a customer.")
        return self.render_to_response(self.get_context_data(customer=customer))

    def get_context_data(self, *, customer, **kwargs):
        data = scorecard_data(distributor=self.distributor, customer=customer)
        # The monthly figures in four runs of six months: a printed scorecard stays one page.
        trend_rows = trend_columns(data.get("trend", []), columns=4)
        return super().get_context_data(card=data, customer=customer, trend_rows=trend_rows, **kwargs)


class ScorecardPrintView(ScorecardView):
    """The customer's scorecard as a printable page (no navigation, figures unfolded) to print or
    save as PDF: one or two A4/Letter pages with the chart whole (tests/browser/test_print.py)."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(printable=True, **kwargs)

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        account = context["customer"].customer_id
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in account)
        response["Content-Disposition"] = f'inline; filename="scorecard-{safe}.html"'
        return response


class CustomerScorecardView(ScorecardView):
    """Staff "view as customer": exactly what the customer sees, for a customer the caller may see."""

    permission = Perm.VIEW_CUSTOMERS
    lookups = (CUSTOMER,)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(customer=self.customer, viewing_as=True))


class ProfitCentersView(SliceMixin, TenantListView):
    """The published run's profit and loss along one dimension (`?dimension=`, default category):
    the sortable, filterable, exportable table of its values, the whale curve, the top centers and
    drains in words, and a heat map (`?matrix=segment` or a second dimension). 400 naming the allowed
    dimensions for an unknown one; a clear page before the first published run.

    Sliced (`?slice_by=&slice=`, issue 16): any dimension's values computed for the slice's customers
    exactly as the profit-centers job computes them for all (no heat maps; cached per slice); when the
    data changed since the run, the page says so instead of showing other data as the run's."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/profit_centers.html"
    table_class = ProfitCenterTable
    filterset_class = ProfitCenterFilter
    per_page = 25
    export_name = "profit-centers"

    def get(self, request, *args, **kwargs):
        self.dimension = request.GET.get("dimension") or DEFAULT_DIMENSION
        self.run, _ = published_runs(distributor=self.distributor)
        self.read_slice(self.run)
        problem = unknown_dimension(self.dimension) or self.slice_error
        if problem:
            if unknown_dimension(self.dimension) or self.slice.active:
                self.dimension = DEFAULT_DIMENSION
            self.slice = Slice()
            self.prepare_rows()
            context = self.get_context_data(error=problem)
            return self.render_to_response(context, status=400)
        self.export_name = f"profit-centers-{self.dimension.replace('_', '-')}"  # ship-method, not ship_method
        return super().get(request, *args, **kwargs)

    def get_filterset(self, queryset):
        if self.slice.active:
            return None
        filterset = super().get_filterset(queryset)
        filterset.distributor, filterset.dimension = self.distributor, self.dimension
        return filterset

    def get_queryset(self):
        if self.run is None:
            return ProfitCenter.objects.none()
        if self.slice.active:
            rows = slice_cached(
                self.distributor,
                self.run,
                self.stamp,
                self.slice,
                f"profit:{self.dimension}",
                lambda: profit.sliced_rows(
                    distributor=self.distributor,
                    run=self.run,
                    frame=self.slice.apply(run_frame(self.distributor, self.run, self.stamp)),
                    dimension=self.dimension,
                ),
            )
            self.slice_stale = rows is None
            return rows or []
        # The table shows money to the cent; the exact fractions (for re-adding) stay unread.
        return profit_center_list(distributor=self.distributor, run=self.run, dimension=self.dimension).defer("exact")

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug, "dimension": self.dimension, "names_for": self.names_of}

    def names_of(self, codes) -> dict[str, str]:
        """How these values of the dimension read (`segments.names`): the page's or an export chunk's."""
        return value_names(distributor=self.distributor, dimension=self.dimension, codes=set(codes))

    def export_headers(self):
        return profit.export_headers(self.distributor.currency)

    def export_rows(self, rows):
        """The rows as the export writes them, names read per chunk of 2,000 (a tenant's products are many)."""
        rows = iter(rows if isinstance(rows, list) else rows.iterator(chunk_size=2000))
        while chunk := list(islice(rows, 2000)):
            names = self.names_of(row.value for row in chunk)
            yield from (profit.export_row(row, names) for row in chunk)

    def get_context_data(self, **kwargs):
        context = {
            "run": self.run,
            "dimension": self.dimension,
            "dimensions": [(k, v[0]) for k, v in DIMENSIONS.items()],
            "slice_keep": [("dimension", self.dimension)],
            **self.slice_context(),
        }
        if self.run is not None:
            # Computed by a job after the run (segments.services.profit): a moment after publishing.
            context["profit_pending"] = not profit_center_list(
                distributor=self.distributor, run=self.run, dimension=self.dimension
            ).exists()
        if self.run is not None and self.slice.active:
            if getattr(self, "slice_stale", False):
                context["error"] = (
                    "The data changed since this run was computed (an import landed): run the stratification "
                    "again to slice its profit centers."
                )
            context.update(
                report=profit.report(
                    distributor=self.distributor, run=self.run, dimension=self.dimension, rows=list(self.rows)
                ),
                matrix_choices=[],
                matrix=None,
                branch_by_category=None,
            )
        elif self.run is not None:
            choices = profit.matrix_choices(self.dimension)
            matrix = self.request.GET.get("matrix")
            matrix = matrix if matrix in dict(choices) else (choices[0][0] if choices else None)
            context.update(
                matrix_choices=choices,
                **profit.page_figures(
                    distributor=self.distributor, run=self.run, dimension=self.dimension, matrix=matrix
                ),
            )
        return super().get_context_data(**context, **kwargs)


# --- benchmarks (issue 16) ----------------------------------------------------------------------------


def _figure_rows(row: dict, median: dict) -> list[dict]:
    """A rep's figures beside the team median, for the rep page."""
    return [
        {"key": key, "label": label, "kind": kind, "better": better, "mine": row[key], "median": median[key]}
        for key, (label, better, kind) in FIGURES.items()
    ]


class CoachingView(TenantListView):
    """Rep coaching: one row per rep (a rep: their own row) and the team median, with exports."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/coaching.html"
    per_page = 50
    export_name = "rep-coaching"

    table_class = CoachingTable

    def get_queryset(self):
        self.run, self.previous_run = published_runs(distributor=self.distributor)
        self.coaching = None
        if self.run is None:
            return []
        self.coaching = rep_table(
            distributor=self.distributor, run=self.run, reps=visible_reps(self.distributor, self.membership)
        )
        return self.coaching["rows"]

    def get_table_kwargs(self):
        return {
            "tenant_slug": self.distributor.slug,
            "show_alerts": bool(self.coaching and self.coaching["has_alerts"]),
            "median": self.coaching["median"] if self.coaching else None,
        }

    def export_headers(self):
        return coaching_export_headers(currency=self.distributor.currency)

    def export_rows(self, rows):
        out = [coaching_export_row(r) for r in rows]
        if self.coaching:
            out.append(coaching_export_row(self.coaching["median"]))
        return out

    def get_context_data(self, **kwargs):
        median = self.coaching["median"] if self.coaching else None
        return super().get_context_data(
            run=self.run,
            previous_run=self.previous_run,
            median=median,
            benchmark=self.coaching["benchmark"] if self.coaching else None,
            is_rep=self.membership.role == Role.REP,
            **kwargs,
        )


class RepCoachingView(TenantListView):
    """One rep: their figures against the team median, coaching points, and their customers (the
    my-customers table narrowed to the rep, with its exports). A rep may open only their own."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/coaching_rep.html"
    table_class = MyCustomersTable
    filterset_class = MyCustomersFilter
    per_page = 25

    lookups = (REP,)

    @property
    def export_name(self):
        return f"rep-{self.rep.rep_id}-customers"

    def get_queryset(self):
        self.run, self.previous_run = published_runs(distributor=self.distributor)
        rows = customer_rows(distributor=self.distributor, membership=self.membership, run=self.run)
        return rows.filter(rep=self.rep)

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug, "show_rep": False}

    def export_headers(self):
        return export_headers(currency=self.distributor.currency)

    def export_rows(self, rows):
        return customer_export_rows(distributor=self.distributor, rows=rows)

    def get_context_data(self, **kwargs):
        context = {"run": self.run, "rep": self.rep}
        if self.run is not None:
            table = rep_table(distributor=self.distributor, run=self.run, reps=[self.rep])
            row, median = table["rows"][0], table["median"]
            context.update(row=row, median=median, figures=_figure_rows(row, median), benchmark=table["benchmark"])
        return super().get_context_data(**context, **kwargs)


class YearAgoMixin:
    """Leakage pages: whether they show "a year earlier" (False when it is the prior window itself, a
    365-day window: its columns would repeat it)."""

    @property
    def year_ago(self) -> bool:
        return self.run is None or not leakage.year_ago_is_prior(self.run)


class LeakageView(YearAgoMixin, TenantListView):
    """Category, brand and supplier leakage among the published run's core customers
    (`?dimension=category|brand|supplier`; 400 naming them for another), sortable and exportable."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/leakage.html"
    table_class = LeakageTable
    per_page = 25

    def get(self, request, *args, **kwargs):
        self.dimension = request.GET.get("dimension") or "category"
        self.run, _ = published_runs(distributor=self.distributor)
        problem = leakage.unknown_dimension(self.dimension)
        if problem:
            self.dimension = "category"
            self.prepare_rows()
            return self.render_to_response(self.get_context_data(error=problem), status=400)
        self.export_name = f"leakage-{self.dimension}"
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if self.run is None:
            return []
        return leakage.leakage_rows(distributor=self.distributor, run=self.run, dimension=self.dimension)

    def get_table_kwargs(self):
        return {
            "tenant_slug": self.distributor.slug,
            "dimension": self.dimension,
            "names": self.names_of(self.rows),
            "year_ago": self.year_ago,
        }

    def names_of(self, rows) -> dict[str, str]:
        """How the values read (a supplier with its partner name, as on the map)."""
        return value_names(distributor=self.distributor, dimension=self.dimension, codes={r["value"] for r in rows})

    def export_headers(self):
        return leakage_export_headers(
            currency=self.distributor.currency, label=leakage.DIMENSIONS[self.dimension], year_ago=self.year_ago
        )

    def export_rows(self, rows):
        names = self.names_of(rows)
        return [leakage_export_row(r, names, year_ago=self.year_ago) for r in rows]

    def get_context_data(self, **kwargs):
        context = {"run": self.run, "dimension": self.dimension, "dimensions": list(leakage.DIMENSIONS.items())}
        if self.run is not None:
            context["spans"] = leakage.windows(self.run)
            context["year_ago"] = self.year_ago
            context["core_total"] = leakage.core_count(self.distributor, self.run)
            context["leaked_total"] = sum((r["leaked"] for r in self.rows), Decimal(0))
        return super().get_context_data(**context, **kwargs)


class LeakageCustomersView(YearAgoMixin, TenantListView):
    """The core customers behind one leakage value (`?dimension=&value=`), biggest drop first."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/leakage_customers.html"
    table_class = LeakageCustomersTable
    per_page = 50

    def get(self, request, *args, **kwargs):
        self.dimension = request.GET.get("dimension") or "category"
        self.value = request.GET.get("value") or ""
        self.run, _ = published_runs(distributor=self.distributor)
        problem = leakage.unknown_dimension(self.dimension)
        if problem:
            return HttpResponseBadRequest(problem)
        self.export_name = f"leakage-{self.dimension}-customers"
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if self.run is None:
            return []
        return leakage.value_customers(
            distributor=self.distributor, run=self.run, dimension=self.dimension, value=self.value
        )

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug, "year_ago": self.year_ago}

    def export_headers(self):
        return leakage_customers_export_headers(currency=self.distributor.currency, year_ago=self.year_ago)

    def export_rows(self, rows):
        return [leakage_customers_export_row(r, year_ago=self.year_ago) for r in rows]

    def get_context_data(self, **kwargs):
        names = value_names(distributor=self.distributor, dimension=self.dimension, codes={self.value})
        return super().get_context_data(
            run=self.run,
            dimension=self.dimension,
            label=leakage.DIMENSIONS[self.dimension],
            value=self.value,
            value_label=named(self.value, names),
            **kwargs,
        )


class HistoryView(SliceMixin, TenantViewMixin, TemplateView):
    """Trends across published runs: per run the segment counts, shares of revenue and net profit,
    whale peak, core retention and settings changes; line charts; the migration matrix between any
    two runs (`?from=&to=`, run numbers; default the last two). Sliceable; CSV/XLSX export of the
    per-run table (`?export=`)."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/history.html"

    def get(self, request, *args, **kwargs):
        runs = history.published_run_list(self.distributor)
        self.read_slice(runs[-1] if runs else None)
        if self.slice_error:
            return self.render_to_response(self.get_context_data(runs=runs, error=self.slice_error), status=400)
        numbers = {r.number: r for r in runs}
        before, after, problem = self._pair(numbers, runs)
        if problem:
            return self.render_to_response(self.get_context_data(runs=runs, error=problem), status=400)
        data = history.history(distributor=self.distributor, runs=runs, stamp=self.stamp, cut=self.slice)
        fmt = request.GET.get("export")
        if fmt in EXPORT_FORMATS:
            return export_response(
                headers=history_export_headers(currency=self.distributor.currency),
                rows=[history_export_row(e) for e in data["runs"]],
                fmt=fmt,
                filename=f"{self.distributor.slug}-history",
                sheet="History",
            )
        matrix = None
        if before is not None:
            matrix = history.migration_between_runs(
                distributor=self.distributor, before=before, after=after, stamp=self.stamp, cut=self.slice
            )
        return self.render_to_response(
            self.get_context_data(runs=runs, data=data, before=before, after=after, matrix=matrix)
        )

    def _pair(self, numbers, runs):
        """The two runs of the migration matrix, or a message naming the run numbers there are."""
        if len(runs) < 2:
            return None, None, None
        raw = {k: self.request.GET.get(k) for k in ("from", "to")}
        chosen = {}
        for key, default in (("from", runs[-2]), ("to", runs[-1])):
            if not raw[key]:
                chosen[key] = default
                continue
            try:
                chosen[key] = numbers[int(raw[key])]
            except (KeyError, ValueError):
                allowed = ", ".join(str(n) for n in numbers)
                return None, None, f"Unknown run {raw[key]!r} for {key!r}: use one of the published runs {allowed}."
        return chosen["from"], chosen["to"], None

    def get_context_data(self, **kwargs):
        return super().get_context_data(**self.slice_context(), **kwargs)


class SideBySideView(TenantListView):
    """Segments and categories benchmarked against each other, core first, from the run's profit
    centers (PROFIT_CENTERS.md figures). The categories table is sortable and exportable."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/side_by_side.html"
    table_class = SideBySideTable
    per_page = 50
    export_name = "segments-and-categories"

    def get_queryset(self):
        self.run, _ = published_runs(distributor=self.distributor)
        if self.run is None:
            return []
        return side_by_side.categories(distributor=self.distributor, run=self.run)

    def export_headers(self):
        return side_by_side_export_headers(currency=self.distributor.currency)

    def export_rows(self, rows):
        return [side_by_side_export_row(r) for r in rows]

    def get_context_data(self, **kwargs):
        context = {"run": self.run}
        if self.run is not None:
            context["segments"] = side_by_side.segments(distributor=self.distributor, run=self.run)
        return super().get_context_data(**context, **kwargs)


class CustomerGapsExportView(TenantViewMixin, TemplateView):
    """The customer's category gaps as CSV or Excel (`?export=csv|xlsx`, default csv): every category
    by money at stake, as the customer page shows them."""

    permission = Perm.VIEW_CUSTOMERS
    lookups = (CUSTOMER,)

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("export") or "csv"
        if fmt not in EXPORT_FORMATS:
            return HttpResponseBadRequest(f"Unknown export {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}.")
        run, _ = published_runs(distributor=self.distributor)
        rows = gaps.gap_rows(distributor=self.distributor, run=run, customer=self.customer)["rows"] if run else []
        currency = self.distributor.currency
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.customer.customer_id)
        return export_response(
            headers=[
                "Category",
                f"Revenue ({currency})",
                "Share %",
                "Core share %",
                "Gap (points)",
                f"Expected ({currency})",
                f"At stake ({currency})",
            ],
            rows=[
                [
                    r["category"],
                    Money(r["revenue"]),
                    r["share"],
                    r["core_share"],
                    r["gap"],
                    Money(r["expected"]),
                    Money(r["at_stake"]),
                ]
                for r in rows
            ],
            fmt=fmt,
            filename=f"{self.distributor.slug}-gaps-{safe}",
            sheet="Category gaps",
        )


# --- Channels (issue 14): the channel map, partners, customer definitions, interactions -----------


class ChannelMapView(TenantViewMixin, TemplateView):
    """The supply chain and distribution channel map of the published run's window (ECharts Sankey,
    static/vendor/echarts): `?by=`, `?weight=`, filters branch, segment, customer class. Its figures
    are computed once per run and cached (insights.channel_map); 400 naming the allowed values for
    an unknown switch. Managers and reps (a rep's clicks lead to their own customers)."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/channel_map.html"

    def get(self, request, *args, **kwargs):
        run, _ = published_runs(distributor=self.distributor)
        context = {"run": run, "by_choices": channel_map.BY_LABELS, "weight_choices": channel_map.WEIGHT_LABELS}
        try:
            params = channel_map.parse_params(request.GET)
        except channel_map.BadInput as problem:
            params = channel_map.parse_params({})
            context.update(error=str(problem), params=params)
            return self.render_to_response(self.get_context_data(**context), status=400)
        context.update(params=params, weight_label=channel_map.WEIGHT_LABELS[params["weight"]])
        if run is not None:
            result = channel_map.channel_map(distributor=self.distributor, run=run, **params)
            body = channel_map.for_page(
                channel_map.api_body(result, tenant_slug=self.distributor.slug, role=self.membership.role),
                route_names=value_names(distributor=self.distributor, dimension="channel"),
            )
            context.update(
                result=result,
                body=body,
                choices=channel_map.filter_choices(distributor=self.distributor, run=run),
                groups=channel_map.group_summaries(body),
                left_out=channel_map.left_out_summary(result),
            )
        return self.render_to_response(self.get_context_data(**context))


class PartnerListView(TenantListView):
    """The tenant's partners (suppliers, resellers, installers, logistics...) with the revenue and
    customers flowing through each in the published run's window; filters, sorting, CSV/XLSX."""

    permission = Perm.VIEW_CATALOG
    template_name = "insights/channels/partner_list.html"
    table_class = channel_pages.PartnerTable
    filterset_class = channel_pages.PartnerFilter
    per_page = 50
    export_name = "partners"

    def get_queryset(self):
        self.run, _ = published_runs(distributor=self.distributor)
        return partner_list(distributor=self.distributor)

    def get_table_kwargs(self):
        return {
            "tenant_slug": self.distributor.slug,
            "figures": channel_pages.partner_figures(distributor=self.distributor, run=self.run),
        }


class PartnerDetailView(TenantViewMixin, TemplateView):
    """One partner: what it is and does (editable by managers), the customers and revenue that flow
    through it in the window, their segments, and its profit contribution (profit centers)."""

    permission = {"GET": Perm.VIEW_CATALOG, "POST": Perm.MANAGE_MODEL}
    lookups = (PARTNER,)
    template_name = "insights/channels/partner_detail.html"

    def get_context_data(self, **kwargs):
        run, _ = published_runs(distributor=self.distributor)
        figures = channel_pages.partner_figures(distributor=self.distributor, run=run).get(self.partner.partner_id)
        can_edit = self.membership.role == Role.MANAGER
        context = {
            "partner": self.partner,
            "run": run,
            "figures": figures,
            "segments": [(SEGMENT_LABELS[s], n) for s, n in (figures or {}).get("segments", {}).items()],
            "profit": channel_pages.partner_profit(
                distributor=self.distributor, run=run, partner_id=self.partner.partner_id
            )
            if can_edit
            else None,
            "can_edit": can_edit,
            "customers_url": reverse("my-customers", kwargs={"tenant": self.distributor.slug})
            + "?"
            + urlencode({"dimension": "partner", "value": self.partner.partner_id}),
        }
        if can_edit:
            context["form"] = kwargs.pop("form", None) or PartnerForm(instance=self.partner)
        return super().get_context_data(**context, **kwargs)

    def post(self, request, *args, **kwargs):
        form = PartnerForm(request.POST, instance=self.partner)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        partner_update(partner=self.partner, data=form.cleaned_data)
        messages.success(request, "Partner saved.")
        return redirect("partner-detail", tenant=self.distributor.slug, partner_id=self.partner.partner_id)


class DefinitionsView(TenantViewMixin, TemplateView):
    """Customer definitions side by side: every customer class (or `?by=supply_chain_role`)."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/channels/definitions.html"

    def get(self, request, *args, **kwargs):
        by = request.GET.get("by") or "customer_class"
        problem = definitions.unknown_by(by)
        run, _ = published_runs(distributor=self.distributor)
        context = {"run": run, "by": "customer_class" if problem else by, "error": problem}
        context["by_choices"] = channel_map.BY_LABELS
        if run is not None:
            context["overview"] = definitions.overview(distributor=self.distributor, run=run, by=context["by"])
            context["activities"] = ACTIVITIES
        return self.render_to_response(self.get_context_data(**context), status=400 if problem else 200)


class DefinitionDetailView(TenantViewMixin, TemplateView):
    """One customer category's definition (class or supply-chain role; `(none)`: the empty value)."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/channels/definition_detail.html"

    def get(self, request, *args, by, value, **kwargs):
        if definitions.unknown_by(by):
            raise Http404(definitions.unknown_by(by))
        run, _ = published_runs(distributor=self.distributor)
        value = "" if value == NONE else value
        data = definitions.definition(distributor=self.distributor, run=run, by=by, value=value) if run else None
        if run is not None and data is None:
            raise Http404("No active customer of the published run is in this category.")
        context = {"run": run, "by": by, "by_label": channel_map.BY_LABELS[by], "data": data}
        if data is not None:
            core_median = definitions.overview(distributor=self.distributor, run=run, by=by)["core_median"]
            context.update(
                activities=definitions.cost_rows(data["cost_per_thousand"], core_median),
                customers_url=definitions.customers_url(self.distributor.slug, by, value),
            )
        return self.render_to_response(self.get_context_data(**context))


class InteractionListView(TenantListView):
    """Every interaction point the caller may see (reps: their customers'), filtered by kind,
    channel, rep, customer class, segment, opportunity, dates and a search of the notes; sortable,
    exportable; with the counts per kind and channel per segment of what the filters keep."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/channels/interaction_list.html"
    table_class = channel_pages.InteractionTable
    filterset_class = channel_pages.InteractionFilter
    per_page = 50
    export_name = "interactions"

    def get_queryset(self):
        self.run, _ = published_runs(distributor=self.distributor)
        base = interaction_list(distributor=self.distributor, membership=self.membership)
        return channel_pages.interaction_rows(base, run=self.run).order_by("-date", "-id")

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            run=self.run,
            counts=channel_pages.interaction_counts(self.rows),
            kinds=Interaction.Kind.choices,
            segments=[(s, SEGMENT_LABELS[s]) for s in SEGMENT_ORDER],
            **kwargs,
        )


# --- core-first operations (issue 17) ---------------------------------------------------------------


class OperationsListView(TenantListView):
    """Base of the operations pages: the published run's figures from `operations.selectors` (cached
    per run, inventory and thresholds), a table of dict rows with CSV/XLSX export, the page's purpose
    in one sentence, and what importing inventory would add where a page needs it. Subclasses set
    `page_key`, `table_class` and `compute()`; `problem()` returns a 400 message for bad input."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/operations.html"
    page_key = ""
    search_keys: tuple[str, ...] = ()
    keep_params: tuple[str, ...] = ()  # the page's own query parameters, kept by the filter form
    extra_on_error = False  # the page's own context (its forms) also on a 400

    def get(self, request, *args, **kwargs):
        self.run, _ = published_runs(distributor=self.distributor)
        self.page_info = ops_pages.PAGES[self.page_key]
        self.export_name = f"operations-{self.page_key}"
        problem = self.problem()
        if problem:
            self.rows, self.filterset = [], None
            return self.render_to_response(self.get_context_data(error=problem), status=400)
        return super().get(request, *args, **kwargs)

    def problem(self) -> str | None:
        return None

    def compute(self) -> list[dict]:
        raise NotImplementedError

    def prepare_rows(self) -> None:
        self.filterset = None
        rows = ops_pages.to_frame(self.compute()) if self.run is not None else ops_pages.to_frame([])
        self.rows = ops_pages.filter_frame(
            rows,
            query=(self.request.GET.get("q") or "").strip(),
            keys=self.search_keys,
            segment=self.request.GET.get("segment") or "",
        )

    def export_headers(self):
        return self.table_class.export_headers(self.distributor.currency)

    def export_rows(self, rows):
        return (self.table_class.export_row(row) for row in ops_pages.FrameData(rows))

    def extra(self) -> dict:
        return {}

    def get_context_data(self, **kwargs):
        needs = self.page_info.needs_inventory
        context = {
            "run": self.run,
            "page_info": self.page_info,
            "ops_pages": ops_pages.PAGES.values(),
            "has_inventory": ops.has_inventory(distributor=self.distributor),
            "inventory_pitch": ops_pages.INVENTORY_PITCH,
            "needs_inventory": needs,
            "q": self.request.GET.get("q", ""),
            "search": bool(self.search_keys),
            "keep": [(k, self.request.GET[k]) for k in self.keep_params if self.request.GET.get(k)],
        }
        if hasattr(self, "choice"):
            context["choice"] = self.choice
        if self.run is not None and ("error" not in kwargs or self.extra_on_error):
            context.update(self.extra())
        context.update(kwargs)
        return super().get_context_data(**context)


class CoreDemandView(OperationsListView):
    """Core demand per product, category, brand or supplier (`?dimension=`), at a branch (`?branch=`)."""

    page_key = "demand"
    keep_params = ("dimension", "branch")
    table_class = ops_pages.DEMAND_TABLES["product"]
    search_keys = ("value", "name")

    def problem(self):
        self.dimension = self.request.GET.get("dimension") or "product"
        self.branch = (self.request.GET.get("branch") or "").strip()
        known = self.dimension in ops.DEMAND_DIMENSIONS
        if not known:
            self.dimension = "product"
        # Each dimension its own columns, and its own file name (the branch's too).
        self.table_class = ops_pages.DEMAND_TABLES[self.dimension]
        self.export_name = "-".join(
            filter(None, ("operations-demand", self.dimension, slugify(self.branch) if known else ""))
        )
        return None if known else f"Unknown dimension: use one of {', '.join(ops.DEMAND_DIMENSIONS)}."

    def compute(self):
        key = f"demand:{self.dimension}:{self.branch}"
        return ops_pages.cached(
            self.distributor,
            self.run,
            key,
            lambda: ops.core_demand_frame(
                distributor=self.distributor, run=self.run, dimension=self.dimension, branch=self.branch
            ),
        )

    def extra(self):
        return {
            "dimension": self.dimension,
            "dimensions": [(k, v[0]) for k, v in ops.DEMAND_DIMENSIONS.items()],
            "branch": self.branch,
            "branches": ops.branch_choices(distributor=self.distributor, run=self.run),
        }


class ScarceStockView(OperationsListView):
    """Scarce products (`?view=products`, default) or the allocation list (`?view=allocation`)."""

    page_key = "scarce"
    keep_params = ("view",)
    search_keys = ("product_id", "product_name", "customer_id", "customer_name", "branch")

    def problem(self):
        asked = self.request.GET.get("view") or "products"
        self.view_name = asked if asked in ("products", "allocation") else "products"
        # The table of the view shown (the default one under the message about an unknown one).
        self.table_class = ops_pages.AllocationTable if self.view_name == "allocation" else ops_pages.ScarceTable
        self.export_name = f"operations-scarce-{self.view_name}"
        return None if asked == self.view_name else "Unknown view: use products or allocation."

    def compute(self):
        products, allocation = ops_pages.cached(
            self.distributor, self.run, "scarce", lambda: ops.scarce_stock(distributor=self.distributor, run=self.run)
        )  # two frames
        return allocation if self.view_name == "allocation" else products

    def extra(self):
        return {
            "view_name": self.view_name,
            "views": [("products", "Scarce products"), ("allocation", "Allocation list")],
        }


class StockView(OperationsListView):
    """Candidates to stock (`?list=to_stock`) or to drop (`?list=to_drop`), and the thresholds (a
    manager changes them here: POST)."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "POST": Perm.MANAGE_MODEL}
    page_key = "stock"
    keep_params = ("list",)
    search_keys = ("product_id", "name", "category", "supplier_id")

    def problem(self):
        asked = self.request.GET.get("list") or "to_stock"
        self.which = asked if asked in ("to_stock", "to_drop") else "to_stock"
        # The table of the list shown (the default one under the message about an unknown one).
        self.table_class = ops_pages.ToStockTable if self.which == "to_stock" else ops_pages.ToDropTable
        self.export_name = f"operations-{self.which.replace('_', '-')}"
        return None if asked == self.which else "Unknown list: use to_stock or to_drop."

    def compute(self):
        return ops_pages.cached(
            self.distributor,
            self.run,
            f"stock:{self.which}",
            lambda: ops.stock_recommendations(distributor=self.distributor, run=self.run)[self.which],
        )

    def extra(self):
        ops_settings = ops.settings_get(distributor=self.distributor)
        return {
            "which": self.which,
            "lists": [("to_stock", "Candidates to stock"), ("to_drop", "Candidates to drop")],
            "ops_settings": ops_settings,
            # (name, label, value, lowest, highest): the browser keeps a value within its range too.
            "setting_fields": [
                (name, label, getattr(ops_settings, name), *ops_services.SETTING_RANGES[name])
                for name, label in self.setting_labels().items()
            ],
        }

    @staticmethod
    def setting_labels() -> dict[str, str]:
        """The thresholds as the form labels them (their fields' help texts)."""
        fields = {f.name: f for f in OperationsSettings._meta.fields}
        return {name: str(fields[name].help_text) for name in ops_services.SETTING_RANGES}

    def post(self, request, *args, **kwargs):
        data = {k: request.POST.get(k) for k in ops_services.SETTING_RANGES if k in request.POST}
        try:
            ops_services.settings_update(distributor=self.distributor, data=data)
        except ValidationError as error:
            labels = self.setting_labels()
            messages.error(
                request, "; ".join(f"{labels.get(k, k)}: {', '.join(v)}" for k, v in error.message_dict.items())
            )
        else:
            messages.success(request, "Operations thresholds saved.")
        return redirect(request.path)


class DeliveriesView(OperationsListView):
    """Deliveries per branch and ship method by segment, frequency by segment, and the consolidation
    suggestion (a manager turns it into a change of the marginal tier policy: POST)."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "POST": Perm.MANAGE_MODEL}
    page_key = "deliveries"
    table_class = ops_pages.DeliveriesTable
    search_keys = ("branch", "ship_method")

    def result(self):
        return ops_pages.cached(
            self.distributor,
            self.run,
            "deliveries",
            lambda: ops.deliveries_page(distributor=self.distributor, run=self.run),
            frames=False,
        )

    def compute(self):
        return self.result()["rows"]

    def extra(self):
        result = self.result()
        return {"frequency": result["frequency"], "consolidation": result["consolidation"]}

    def post(self, request, *args, **kwargs):
        run, _ = published_runs(distributor=self.distributor)
        if run is None:
            messages.error(request, "No published run yet.")
            return redirect(request.path)
        try:
            sentence, changed = ops_services.consolidation_to_policy(
                distributor=self.distributor,
                run=run,
                actor=request.user,
                currency_text=lambda amount: format_money(amount, self.distributor),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if changed:
                messages.success(request, f"Added to the Marginal tier policy's playbook: {sentence}")
            else:
                messages.info(request, f"The Marginal tier policy's playbook already says it: {sentence}")
        return redirect(request.path)


class MarketingListView(OperationsListView):
    """Non-core lookalikes of core customers, ranked, with the categories to pitch."""

    page_key = "marketing"
    table_class = ops_pages.LookalikeTable
    search_keys = ("customer_id", "name", "group", "pitch")

    def compute(self):
        return ops_pages.cached(
            self.distributor, self.run, "lookalikes", lambda: ops.lookalikes(distributor=self.distributor, run=self.run)
        )

    def extra(self):
        return {"segments": [(s, SEGMENT_LABELS[s]) for s in ("opportunistic", "service_drain", "marginal")]}


class CutImpactView(OperationsListView):
    """Choose suppliers, brands and products to cut (GET `supplier`, `brand`, `product`: product SKUs
    may also be comma-separated in one field), or a saved scenario (`?scenario=<id>`): the core
    customers at risk (the table, exportable), the totals, by segment, the alternatives; save the choice
    as a named scenario (POST `name`), delete one (POST `delete`), compare two (`?first=&second=`)."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "POST": Perm.VIEW_DASHBOARD}
    page_key = "cut"
    extra_on_error = True
    keep_params = ("scenario",)
    template_name = "insights/operations_cut.html"
    table_class = ops_pages.CutCustomersTable
    search_keys = ("customer_id", "name")

    def choice_from(self, query) -> "ops.CutChoice":
        choice = ops.CutChoice.from_query(query)
        choice.product = list(dict.fromkeys(p.strip() for v in choice.product for p in v.split(",") if p.strip()))
        return choice

    def problem(self):
        self.scenario = None
        self.impact = None
        scenario_id = self.request.GET.get("scenario") or ""
        if scenario_id:
            self.scenario = (
                ops.scenario_list(distributor=self.distributor)
                .filter(pk=int(scenario_id) if scenario_id.isdigit() else 0)
                .first()
            )
            if self.scenario is None:
                self.choice = ops.CutChoice()
                return "No such saved scenario."
            self.choice = ops.CutChoice.of_scenario(self.scenario)
        else:
            self.choice = self.choice_from(self.request.GET)
        if self.choice.empty:
            return None
        try:
            ops_services.check_choice(distributor=self.distributor, choice=self.choice, run=self.run)
        except ValidationError as error:
            return " ".join(m for messages_ in error.message_dict.values() for m in messages_)
        return None

    def compute(self):
        if self.choice.empty:
            return []
        key = hashlib.sha256(json.dumps(self.choice.as_dict(), sort_keys=True).encode()).hexdigest()[:32]
        self.impact = ops_pages.cached(
            self.distributor,
            self.run,
            f"cut:{key}",
            lambda: ops.cut_impact(distributor=self.distributor, run=self.run, choice=self.choice),
            frames=False,
        )
        return self.impact["customers"]

    def extra(self):
        scenarios = list(ops.scenario_list(distributor=self.distributor))
        context = {
            "choice": self.choice,
            "impact": self.impact,
            "scenario": self.scenario,
            "scenarios": scenarios,
            "suppliers": ops.supplier_choices(distributor=self.distributor, run=self.run),
            "brands": ops.brand_choices(distributor=self.distributor, run=self.run),
            "product_text": ", ".join(self.choice.product),
            "choice_query": urlencode([(k, v) for k, values in self.choice.as_dict().items() for v in values]),
        }
        first, second = self.request.GET.get("first", ""), self.request.GET.get("second", "")
        if first.isdigit() and second.isdigit():
            found = {s.pk: s for s in scenarios}
            if int(first) in found and int(second) in found:
                context["comparison"] = ops.compare_scenarios(
                    distributor=self.distributor, run=self.run, first=found[int(first)], second=found[int(second)]
                )
        return context

    def post(self, request, *args, **kwargs):
        base = request.path
        if "delete" in request.POST:
            found = (
                ops.scenario_list(distributor=self.distributor)
                .filter(pk=int(request.POST["delete"]) if request.POST["delete"].isdigit() else 0)
                .first()
            )
            if found is None:
                raise Http404("No such scenario.")
            name = found.name
            ops_services.scenario_delete(scenario=found)
            messages.success(request, f"Scenario “{name}” deleted.")
            return redirect(base)
        choice = self.choice_from(request.POST)
        try:
            scenario = ops_services.scenario_save(
                distributor=self.distributor, actor=request.user, name=request.POST.get("name", ""), choice=choice
            )
        except ValidationError as error:
            messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
            query = urlencode([(k, v) for k, values in choice.as_dict().items() for v in values])
            return redirect(f"{base}?{query}" if query else base)
        messages.success(request, f"Scenario “{scenario.name}” saved.")
        return redirect(f"{base}?scenario={scenario.pk}")


def rep_codes(*, distributor) -> list[tuple[str, str]]:
    """(code, name) of the tenant's reps for the rep filter's suggestions (the name shows beside it)."""
    return list(rep_list(distributor=distributor).values_list("rep_id", "name")[:500])


# --- alerts (docs INSIGHTS.md; raised by the `alerts` app after each published run) -----------------


class WorklistView(TenantViewMixin, TemplateView):
    """ "My worklist": the caller's open and acknowledged alerts (reps: their customers'; managers: every
    customer's), grouped by customer, biggest money at stake first, each with its sentence, figures,
    the segment's playbook line and one-click acknowledge / done / dismiss."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "insights/worklist.html"

    def get_context_data(self, **kwargs):
        try:
            page = int(self.request.GET.get("page", 1))
        except ValueError:
            page = 1
        context = alert_pages.worklist_context(distributor=self.distributor, membership=self.membership, page=page)
        return super().get_context_data(**context, **kwargs)


class AlertListView(TenantListView):
    """Managers: every alert, filtered by kind, severity, rep, branch, segment and status, sortable and
    exportable (CSV/XLSX of every filtered row)."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/alerts.html"
    table_class = alert_pages.AlertTable
    filterset_class = alert_pages.AlertFilter
    per_page = 25
    export_name = "alerts"

    def get_queryset(self):
        return alert_list(distributor=self.distributor, membership=self.membership).select_related("customer", "rep")

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug}

    def export_headers(self):
        return alert_pages.export_headers(self.distributor.currency)

    def export_rows(self, rows):
        return alert_pages.export_rows(rows)

    def get_context_data(self, **kwargs):
        form = self.filterset.form
        selects = [
            (name, form.fields[name].label or name.title(), list(form.fields[name].choices), form[name].value() or "")
            for name in ("kind", "severity", "status", "branch", "segment")
        ]
        return super().get_context_data(
            selects=selects, rep_value=form["rep"].value() or "", reps=rep_codes(distributor=self.distributor), **kwargs
        )


class AlertStatusView(TenantViewMixin, TemplateView):
    """POST {status, note, next}: acknowledge, mark done or dismiss (with a note) an alert the caller may
    see (another rep's: 404). A change the life cycle forbids is a 400 saying why."""

    permission = {"POST": Perm.VIEW_CUSTOMERS}
    lookups = (ALERT,)
    template_name = "insights/alert_error.html"

    def post(self, request, *args, **kwargs):
        try:
            alert_set_status(
                alert=self.alert,
                status=request.POST.get("status", ""),
                note=request.POST.get("note", ""),
                actor=request.user,
                membership=self.membership,
            )
        except AlertError as error:
            return self.render_to_response({"error": str(error), "back": self._next()}, status=400)
        messages.success(request, f"Alert marked {request.POST.get('status')}.")
        return redirect(self._next())

    def _next(self) -> str:
        target = self.request.POST.get("next") or ""
        if target.startswith(f"/{self.distributor.slug}/") and "//" not in target:
            return target
        return reverse("worklist", kwargs={"tenant": self.distributor.slug})


class AlertSettingsView(TenantViewMixin, TemplateView):
    """The alert thresholds (managers; linked from the model page). A bad value is a 400 naming the field."""

    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "insights/alert_settings.html"

    def get_context_data(self, **kwargs):
        row = alert_settings_for(distributor=self.distributor)
        fields = [
            {"name": name, "label": label, "value": kwargs.get("values", {}).get(name, getattr(row, name)),
             "default": default, "errors": kwargs.get("errors", {}).get(name, [])}
            for name, default, _, label in SETTING_FIELDS
        ]  # fmt: skip
        return super().get_context_data(fields=fields, settings_row=row, **kwargs)

    def post(self, request, *args, **kwargs):
        data = {name: request.POST.get(name, "") for name, _, _, _ in SETTING_FIELDS if name in request.POST}
        try:
            alert_settings_update(distributor=self.distributor, data=data, actor=request.user)
        except AlertError as error:
            # The page names a setting by its label (the API by its field name).
            label = {name: label for name, _, _, label in SETTING_FIELDS}.get(error.field, error.field)
            first = error.errors[error.field][0] if error.field in error.errors else str(error)
            context = self.get_context_data(errors=error.errors, values=data, error=f"{label}: {first}")
            return self.render_to_response(context, status=400)
        messages.success(request, "Alert settings saved. They apply from the next published run.")
        return redirect("alert-settings", tenant=self.distributor.slug)


class DigestSubscriptionView(TenantViewMixin, TemplateView):
    """POST {weekly_digest: on|off}: the caller's choice about the weekly alerts digest e-mail."""

    permission = {"POST": Perm.VIEW_CUSTOMERS}

    def post(self, request, *args, **kwargs):
        enabled = request.POST.get("weekly_digest") == "on"
        digest_subscribe(distributor=self.distributor, user=request.user, weekly_digest=enabled)
        messages.success(request, "Weekly digest " + ("on." if enabled else "off: you will not receive it."))
        return redirect("worklist", tenant=self.distributor.slug)
