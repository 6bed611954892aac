"""API of the core-first operations (issue 17), under /api/v1/tenants/<slug>/operations/. Managers only
(the dashboard permission: tenant-wide figures); every figure is the published run's window.

    GET    cut-impact/?supplier=ID&brand=NAME&product=SKU   (each repeatable; a line matching any is cut)
    GET    scenarios/                  saved cut scenarios;  POST {name, supplier[], brand[], product[]}
    GET    scenarios/<id>/             one scenario with its impact;  DELETE removes it
    GET    scenarios/compare/?first=<id>&second=<id>
    GET    core-demand/?dimension=product|category|brand|supplier&branch=NAME   (paginated)
    GET    scarce-stock/               scarce products;  scarce-stock/allocation/ (paginated)
    GET    stock/?list=to_stock|to_drop   (paginated)
    GET    deliveries/                 per branch x ship method, frequency, consolidation suggestion
    POST   deliveries/consolidate/     write the suggestion into the marginal tier policy (manage model)
    GET    lookalikes/                 marketing target list (paginated)
    GET    settings/  PATCH settings/  the thresholds

Money is a decimal string with two decimals; shares are fractions (0.25 = 25%). 400 names the bad
values (unknown suppliers, brands or products, an unknown dimension or list); 409 before a run is
published."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from segments.selectors import published_runs
from stratify.formatting import format_money, money_str
from stratify.tenancy.api import TenantApiView
from stratify.tenancy.pagination import BoundedPageNumberPagination
from stratify.tenancy.permissions import Perm

from . import selectors, services
from .lookups import SCENARIO
from .models import CutScenario
from .selectors import DEMAND_DIMENSIONS, CutChoice

STOCK_LISTS = ("to_stock", "to_drop")


def plain(value):
    """A figure for JSON: money (Decimal) as a 2-decimal string, dates as ISO text, the rest as is."""
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def errors_body(error: ValidationError) -> dict:
    messages = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
    flat = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in messages.items()}
    first = next(iter(flat.values()))
    return {"detail": first if isinstance(first, str) else str(first), **flat}


class OperationsApi(TenantApiView):
    """Base: the published run (409 without one) and list pagination."""

    permission = Perm.VIEW_DASHBOARD

    def published(self):
        run, _ = published_runs(distributor=self.distributor)
        return run

    def no_run(self) -> Response:
        return Response(
            {"detail": "No stratification run is published yet: run and publish one first."},
            status=status.HTTP_409_CONFLICT,
        )

    def paged_frame(self, frame) -> Response:
        """A page of a DataFrame's rows: only that page becomes dicts."""
        paginator = BoundedPageNumberPagination()
        positions = paginator.paginate_queryset(range(len(frame)), self.request, view=self)
        part = frame.iloc[list(positions)] if len(positions) else frame.iloc[0:0]
        part.attrs = dict(frame.attrs)
        return paginator.get_paginated_response(plain(selectors.frame_records(part)))

    def paged(self, rows: list[dict]) -> Response:
        paginator = BoundedPageNumberPagination()
        page = paginator.paginate_queryset(rows, self.request, view=self)
        return paginator.get_paginated_response(plain(page))


def plain_row(row: dict) -> dict:
    """`plain` of a flat row (scalars only: text, numbers, None, money), one dict comprehension: the cut
    lists thousands of core customers. A Decimal formatted to two places rounds half-even, as
    `money_str` does (the selector's money is at the cent already)."""
    return {key: (f"{value:.2f}" if type(value) is Decimal else value) for key, value in row.items()}


def impact_body(result: dict) -> dict:
    return {
        key: [plain_row(row) for row in value] if key == "customers" else plain(value) for key, value in result.items()
    }


class CutImpactApi(OperationsApi):
    """GET: what cutting the chosen suppliers, brands and products puts at risk: `core_customers` (ids
    of the core customers with a cut line in the window), `revenue`, `gross_margin`, `net_profit` (their
    cut lines' sums), `customers` (per core customer: revenue at risk and its `share` of the customer's
    window revenue), `total` and `by_segment` (every customer), `alternatives`. 400 naming unknown ids."""

    def get(self, request, *args, **kwargs):
        choice = CutChoice.from_query(request.query_params)
        run = self.published()
        try:
            services.check_choice(distributor=self.distributor, choice=choice, run=run)
        except ValidationError as error:
            return Response(errors_body(error), status=status.HTTP_400_BAD_REQUEST)
        if run is None:
            return self.no_run()
        return Response(impact_body(selectors.cut_impact(distributor=self.distributor, run=run, choice=choice)))


def scenario_body(scenario: CutScenario) -> dict:
    return {
        "id": scenario.pk,
        "name": scenario.name,
        **scenario.choice,
        "created_at": scenario.created_at.isoformat() if scenario.created_at else None,
    }


class ScenarioListApi(OperationsApi):
    """GET: the saved cut scenarios. POST {"name", "supplier": [...], "brand": [...], "product": [...]}:
    save one (a scenario of the same name is replaced); 400 naming unknown values."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "POST": Perm.VIEW_DASHBOARD}

    @extend_schema(operation_id="tenants_operations_scenarios_list")
    def get(self, request, *args, **kwargs):
        return Response([scenario_body(s) for s in selectors.scenario_list(distributor=self.distributor)])

    def post(self, request, *args, **kwargs):
        data = request.data if isinstance(request.data, dict) else {}
        values = {}
        for key in ("supplier", "brand", "product"):
            raw = data.get(key) or []
            if isinstance(raw, str):
                raw = [raw]
            if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
                return Response({"detail": f"{key}: a list of strings.", key: "A list of strings."}, status=400)
            values[key] = list(dict.fromkeys(v.strip() for v in raw if v.strip()))
        name = data.get("name")
        if not isinstance(name, str):
            return Response({"detail": "name: required.", "name": "Required."}, status=400)
        try:
            scenario = services.scenario_save(
                distributor=self.distributor, actor=request.user, name=name, choice=CutChoice(**values)
            )
        except ValidationError as error:
            return Response(errors_body(error), status=status.HTTP_400_BAD_REQUEST)
        return Response(scenario_body(scenario), status=status.HTTP_201_CREATED)


class ScenarioDetailApi(OperationsApi):
    """GET: a saved scenario with its impact on the published run. DELETE: remove it."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "DELETE": Perm.VIEW_DASHBOARD}
    lookups = (SCENARIO,)

    def get(self, request, *args, **kwargs):
        body = scenario_body(self.scenario)
        run = self.published()
        if run is not None:
            choice = CutChoice.of_scenario(self.scenario)
            body["impact"] = impact_body(selectors.cut_impact(distributor=self.distributor, run=run, choice=choice))
        return Response(body)

    def delete(self, request, *args, **kwargs):
        services.scenario_delete(scenario=self.scenario)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScenarioCompareApi(OperationsApi):
    """GET ?first=<id>&second=<id>: two saved scenarios' figures side by side and the core customers
    both would hit (`both`). 400 when an id is missing or not one of the tenant's scenarios."""

    def get(self, request, *args, **kwargs):
        found = {}
        for key in ("first", "second"):
            raw = request.query_params.get(key, "")
            scenario = None
            if raw.isdigit():
                scenario = CutScenario.objects.filter(distributor=self.distributor, pk=int(raw)).first()
            if scenario is None:
                return Response(
                    {"detail": f"{key}: not a saved scenario id ({raw!r}).", key: "Not a saved scenario id."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            found[key] = scenario
        run = self.published()
        if run is None:
            return self.no_run()
        result = selectors.compare_scenarios(distributor=self.distributor, run=run, **found)
        return Response(
            {
                "first": {**scenario_body(found["first"]), "impact": impact_body(result["first"])},
                "second": {**scenario_body(found["second"]), "impact": impact_body(result["second"])},
                "both": result["both"],
            }
        )


class CoreDemandApi(OperationsApi):
    """GET ?dimension=product|category|brand|supplier (default product) &branch=NAME: per value, revenue
    by segment, units and lines (all and core), core share, core customers, orders per core customer,
    and for products the core demand over the lead time. Paginated."""

    def get(self, request, *args, **kwargs):
        dimension = request.query_params.get("dimension") or "product"
        if dimension not in DEMAND_DIMENSIONS:
            return Response(
                {"detail": f"Unknown dimension {dimension!r}: use one of {', '.join(DEMAND_DIMENSIONS)}.",
                 "allowed": list(DEMAND_DIMENSIONS)},
                status=status.HTTP_400_BAD_REQUEST,
            )  # fmt: skip
        run = self.published()
        if run is None:
            return self.no_run()
        branch = (request.query_params.get("branch") or "").strip()
        frame = selectors.core_demand_frame(distributor=self.distributor, run=run, dimension=dimension, branch=branch)
        return self.paged_frame(frame)


class ScarceStockApi(OperationsApi):
    """GET: the products whose on-hand plus on-order is below the lead-time demand at their branch,
    with demand, core demand and what would be short (all and core); `has_inventory` false when no
    inventory was imported."""

    def get(self, request, *args, **kwargs):
        run = self.published()
        if run is None:
            return self.no_run()
        products, _ = selectors.scarce_stock(distributor=self.distributor, run=run)
        return Response(
            {"has_inventory": selectors.has_inventory(distributor=self.distributor), "products": plain(products)}
        )


class ScarceAllocationApi(OperationsApi):
    """GET: the allocation list of the scarce products: per product and branch, the customers in the
    order served (core first, then segment order, then net profit) with demand, allocated and short.
    Paginated."""

    def get(self, request, *args, **kwargs):
        run = self.published()
        if run is None:
            return self.no_run()
        _, allocation = selectors.scarce_stock(distributor=self.distributor, run=run)
        return self.paged(allocation)


class StockApi(OperationsApi):
    """GET ?list=to_stock (default) | to_drop: stock / non-stock recommendations. Paginated."""

    def get(self, request, *args, **kwargs):
        which = request.query_params.get("list") or "to_stock"
        if which not in STOCK_LISTS:
            return Response(
                {
                    "detail": f"Unknown list {which!r}: use one of {', '.join(STOCK_LISTS)}.",
                    "allowed": list(STOCK_LISTS),
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        run = self.published()
        if run is None:
            return self.no_run()
        return self.paged(selectors.stock_recommendations(distributor=self.distributor, run=run)[which])


class DeliveriesApi(OperationsApi):
    """GET: per branch and ship method the deliveries, delivery cost and revenue by segment (`rows`),
    each segment's deliveries per customer per month (`frequency`), and the consolidation suggestion
    for marginal customers (`consolidation`)."""

    def get(self, request, *args, **kwargs):
        run = self.published()
        if run is None:
            return self.no_run()
        body = selectors.deliveries_page(distributor=self.distributor, run=run)
        return Response(plain(body))


class ConsolidateApi(OperationsApi):
    """POST: write the consolidation suggestion into the marginal segment's tier policy playbook
    (audited as a tier-policy change). 400 when there is nothing to consolidate."""

    permission = {"POST": Perm.MANAGE_MODEL}

    def post(self, request, *args, **kwargs):
        run = self.published()
        if run is None:
            return self.no_run()
        try:
            sentence, changed = services.consolidation_to_policy(
                distributor=self.distributor,
                run=run,
                actor=request.user,
                currency_text=lambda amount: format_money(amount, self.distributor),
            )
        except ValidationError as error:
            return Response(errors_body(error), status=status.HTTP_400_BAD_REQUEST)
        return Response({"segment": "marginal", "playbook_line": sentence, "changed": changed})


class LookalikesApi(OperationsApi):
    """GET: non-core customers that look like core ones, best first, with the categories to pitch.
    Paginated."""

    def get(self, request, *args, **kwargs):
        run = self.published()
        if run is None:
            return self.no_run()
        return self.paged(selectors.lookalikes(distributor=self.distributor, run=run))


def settings_body(row) -> dict:
    return {key: getattr(row, key) for key in services.SETTING_RANGES}


class OperationsSettingsApi(OperationsApi):
    """GET: the thresholds. PATCH {name: whole number}: change some (400 naming bad ones)."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "PATCH": Perm.MANAGE_MODEL}

    def get(self, request, *args, **kwargs):
        return Response(settings_body(selectors.settings_get(distributor=self.distributor)))

    def patch(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            return Response({"detail": "Expected a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            row = services.settings_update(distributor=self.distributor, data=dict(request.data))
        except ValidationError as error:
            return Response(errors_body(error), status=status.HTTP_400_BAD_REQUEST)
        return Response(settings_body(row))
