"""The read side's pages: the manager's dashboard, my customers (with exports), the customer page
and its printable account review (where interactions are logged), and the customer's scorecard
(a customer's own, or staff's "view as customer")."""

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from alerts.lookups import ALERT
from alerts.models import SETTING_FIELDS
from alerts.selectors import alert_list
from alerts.selectors import settings_for as alert_settings_for
from alerts.services import AlertError, alert_set_status, digest_subscribe
from alerts.services import settings_update as alert_settings_update
from channels.forms import InteractionForm
from channels.services import interaction_log
from sales.lookups import CUSTOMER
from sales.selectors import customer_list, rep_list
from segments.models import ProfitCenter
from segments.profit_centers import DEFAULT_DIMENSION, DIMENSIONS, unknown_dimension
from segments.selectors import pending_run, profit_center_list, published_runs
from segments.vocabulary import SEGMENT_COLORS
from stratify.tenancy.lists import TenantListView
from stratify.tenancy.permissions import Perm, Role
from stratify.tenancy.views import TenantViewMixin

from . import alerts as alert_pages
from . import dashboard, profit
from .attention import attention_by_customer
from .customers import INTERACTIONS_PER_PAGE, customer_page_context, customer_rows, trend_columns
from .filters import MyCustomersFilter
from .profit import ProfitCenterFilter, ProfitCenterTable
from .scorecard import scorecard_data
from .tables import EXPORT_COLUMNS, MyCustomersTable, export_headers, export_row


class DashboardView(TenantViewMixin, TemplateView):
    """Per-segment figures, the quadrant chart (its points load from `QuadrantDataView`), the whale
    curve and the migration matrix of the published run."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/dashboard.html"

    def get_context_data(self, **kwargs):
        run, previous = published_runs(distributor=self.distributor)
        context = {"run": run, "previous_run": previous}
        if run is not None:
            context.update(
                summary=dashboard.segment_summary(distributor=self.distributor, run=run),
                whale=dashboard.whale_curve(distributor=self.distributor, run=run),
                migration=dashboard.migration_matrix(distributor=self.distributor, run=run),
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
        return HttpResponse(
            dashboard.quadrant_json(distributor=self.distributor, run=run), content_type="application/json"
        )


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
        # The attention column: the customers' open alerts, read a chunk of customers at a time.
        fields = ["pk"] + [f for _, f, _ in EXPORT_COLUMNS]
        chunk = []
        for row in rows.values_list(*fields).iterator(chunk_size=2000):
            chunk.append(dict(zip(fields, row, strict=True)))
            if len(chunk) == 2000:
                yield from self._export_chunk(chunk)
                chunk = []
        yield from self._export_chunk(chunk)

    def _export_chunk(self, chunk):
        reasons = attention_by_customer(distributor=self.distributor, customers=[r["pk"] for r in chunk])
        for record in chunk:
            yield export_row(record, reasons.get(record["pk"], []))

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


def rep_codes(*, distributor) -> list[str]:
    return list(rep_list(distributor=distributor).values_list("rep_id", flat=True)[:500])


class ProfitCentersView(TenantListView):
    """The published run's profit and loss along one dimension (`?dimension=`, default category):
    the sortable, filterable, exportable table of its values, the whale curve, the top centers and
    drains in words, and a heat map (`?matrix=segment` or a second dimension). 400 naming the allowed
    dimensions for an unknown one; a clear page before the first published run."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "insights/profit_centers.html"
    table_class = ProfitCenterTable
    filterset_class = ProfitCenterFilter
    per_page = 25
    export_name = "profit-centers"

    def get(self, request, *args, **kwargs):
        self.dimension = request.GET.get("dimension") or DEFAULT_DIMENSION
        self.run, _ = published_runs(distributor=self.distributor)
        problem = unknown_dimension(self.dimension)
        if problem:
            self.dimension = DEFAULT_DIMENSION
            self.prepare_rows()
            context = self.get_context_data(error=problem)
            return self.render_to_response(context, status=400)
        self.export_name = f"profit-centers-{self.dimension}"
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if self.run is None:
            return ProfitCenter.objects.none()
        return profit_center_list(distributor=self.distributor, run=self.run, dimension=self.dimension)

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug, "dimension": self.dimension}

    def export_headers(self):
        return profit.export_headers(self.distributor.currency)

    def export_rows(self, rows):
        return (profit.export_row(row) for row in rows.iterator(chunk_size=2000))

    def get_context_data(self, **kwargs):
        context = {
            "run": self.run,
            "dimension": self.dimension,
            "dimensions": [(k, v[0]) for k, v in DIMENSIONS.items()],
        }
        if self.run is not None:
            # Computed by a job after the run (segments.services.profit): a moment after publishing.
            context["profit_pending"] = not profit_center_list(
                distributor=self.distributor, run=self.run, dimension=self.dimension
            ).exists()
        if self.run is not None:
            choices = profit.matrix_choices(self.dimension)
            matrix = self.request.GET.get("matrix")
            matrix = matrix if matrix in dict(choices) else choices[0][0]
            context.update(
                report=profit.report(distributor=self.distributor, run=self.run, dimension=self.dimension),
                matrix_choices=choices,
                matrix=profit.heat_map(distributor=self.distributor, run=self.run, dimension=self.dimension, by=matrix),
                branch_by_category=profit.heat_map(
                    distributor=self.distributor, run=self.run, dimension="branch", by="category"
                )
                if self.dimension != "branch"
                else None,
            )
        return super().get_context_data(**context, **kwargs)


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
            context = self.get_context_data(errors=error.errors, values=data, error=str(error))
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
