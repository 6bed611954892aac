"""The read side's pages: the manager's dashboard, my customers (with exports), the customer page
and its printable account review (where interactions are logged), and the customer's scorecard
(a customer's own, or staff's "view as customer")."""

import hashlib
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from channels.forms import InteractionForm
from channels.services import interaction_log
from operations import selectors as ops
from operations import services as ops_services
from operations.models import OperationsSettings
from sales.lookups import CUSTOMER
from sales.selectors import customer_list
from segments.models import ProfitCenter
from segments.profit_centers import DEFAULT_DIMENSION, DIMENSIONS, unknown_dimension
from segments.selectors import pending_run, profit_center_list, published_runs
from segments.vocabulary import SEGMENT_COLORS, SEGMENT_LABELS
from stratify.formatting import format_money
from stratify.tenancy.lists import TenantListView
from stratify.tenancy.permissions import Perm, Role
from stratify.tenancy.views import TenantViewMixin

from . import dashboard, profit
from . import operations as ops_pages
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
        # growth and recency are read for the attention reasons (as on the page), not exported as columns.
        fields = [f for _, f, _ in EXPORT_COLUMNS] + ["growth", "recency_days"]
        for row in rows.values_list(*fields).iterator(chunk_size=2000):
            yield export_row(dict(zip(fields, row, strict=True)))

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
    table_class = ops_pages.DemandTable
    search_keys = ("value", "name")

    def problem(self):
        self.dimension = self.request.GET.get("dimension") or "product"
        self.branch = (self.request.GET.get("branch") or "").strip()
        if self.dimension not in ops.DEMAND_DIMENSIONS:
            self.dimension = "product"
            return f"Unknown dimension: use one of {', '.join(ops.DEMAND_DIMENSIONS)}."
        return None

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
        self.view_name = self.request.GET.get("view") or "products"
        if self.view_name not in ("products", "allocation"):
            self.view_name = "products"
            return "Unknown view: use products or allocation."
        self.table_class = ops_pages.AllocationTable if self.view_name == "allocation" else ops_pages.ScarceTable
        self.export_name = f"operations-scarce-{self.view_name}"
        return None

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
        self.which = self.request.GET.get("list") or "to_stock"
        if self.which not in ("to_stock", "to_drop"):
            self.which = "to_stock"
            return "Unknown list: use to_stock or to_drop."
        self.table_class = ops_pages.ToStockTable if self.which == "to_stock" else ops_pages.ToDropTable
        self.export_name = f"operations-{self.which.replace('_', '-')}"
        return None

    def compute(self):
        return ops_pages.cached(
            self.distributor,
            self.run,
            f"stock:{self.which}",
            lambda: ops.stock_recommendations(distributor=self.distributor, run=self.run)[self.which],
        )

    def extra(self):
        return {
            "which": self.which,
            "lists": [("to_stock", "Candidates to stock"), ("to_drop", "Candidates to drop")],
            "ops_settings": ops.settings_get(distributor=self.distributor),
            "setting_fields": [
                (name, field.help_text, getattr(ops.settings_get(distributor=self.distributor), name))
                for name, field in ((f.name, f) for f in OperationsSettings._meta.fields)
                if name in ops_services.SETTING_RANGES
            ],
        }

    def post(self, request, *args, **kwargs):
        data = {k: request.POST.get(k) for k in ops_services.SETTING_RANGES if k in request.POST}
        try:
            ops_services.settings_update(distributor=self.distributor, data=data)
        except ValidationError as error:
            messages.error(request, "; ".join(f"{k}: {', '.join(v)}" for k, v in error.message_dict.items()))
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
            lambda: {
                **ops.deliveries(distributor=self.distributor, run=self.run),
                "consolidation": ops.consolidation(distributor=self.distributor, run=self.run),
            },
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
            sentence = ops_services.consolidation_to_policy(
                distributor=self.distributor,
                run=run,
                actor=request.user,
                currency_text=lambda amount: format_money(amount, self.distributor),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Added to the Marginal tier policy's playbook: {sentence}")
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
