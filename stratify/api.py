"""/api/v1/: assembled from each app's endpoints (a composition root, like stratify.urls).
Tenant-owned resources live under /api/v1/tenants/<tenant>/."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from django_scopes import scopes_disabled
from drf_spectacular.views import SpectacularAPIView

import stratify.tenancy.converters  # noqa: F401  (registers <erp_id:...>)
from accounts.api import TenantListApi, TokenObtainApi
from alerts import api as alerts_api
from channels.api import InteractionDetailApi, InteractionListApi, PartnerDetailApi, PartnerListApi
from imports.api import ImportCancelApi, ImportDetailApi, ImportErrorsCsvApi, ImportListApi
from insights import api as insights_api
from operations import api as operations_api
from sales.api import CustomerDetailApi, CustomerListApi, ProductDetailApi, ProductListApi, RepDetailApi, RepListApi
from segments import api as segments_api
from stratify.jobs.api import JobDetailApi, JobListApi


def not_found(request, exception=None):
    """The 404 of a path the URLs do not know (`handler404`): JSON under /api/, as every answer of
    the API (an unknown route or a malformed id answered an HTML page); the site's page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found: no such address in the API (see /api/docs/)."}, status=404)
    return page_not_found(request, exception)


class SchemaView(SpectacularAPIView):
    """The OpenAPI document. Generating it inspects every view's queryset outside any tenant, so it
    runs with scoping disabled; it reads no rows."""

    def get(self, request, *args, **kwargs):
        with scopes_disabled():
            return super().get(request, *args, **kwargs)


tenant_patterns = [
    path("customers/", CustomerListApi.as_view(), name="api-customer-list"),
    # ERP ids may contain "/": see stratify.tenancy.converters.
    path("customers/<erp_id:customer_id>/", CustomerDetailApi.as_view(), name="api-customer-detail"),
    path(
        "customers/<erp_id:customer_id>/scorecard/",
        insights_api.CustomerScorecardApi.as_view(),
        name="api-customer-scorecard",
    ),
    path("scorecard/", insights_api.ScorecardApi.as_view(), name="api-scorecard"),
    path("tier-policies/", segments_api.TierPolicyApi.as_view(), name="api-tier-policies"),
    path("tier-policies/suggestions/", segments_api.TierSuggestionsApi.as_view(), name="api-tier-suggestions"),
    path("reps/", RepListApi.as_view(), name="api-rep-list"),
    path("reps/<erp_id:rep_id>/", RepDetailApi.as_view(), name="api-rep-detail"),
    path("products/", ProductListApi.as_view(), name="api-product-list"),
    path("products/<erp_id:product_id>/", ProductDetailApi.as_view(), name="api-product-detail"),
    path("partners/", PartnerListApi.as_view(), name="api-partner-list"),
    path("partners/<erp_id:partner_id>/", PartnerDetailApi.as_view(), name="api-partner-detail"),
    path("channel-map/", insights_api.ChannelMapApi.as_view(), name="api-channel-map"),
    path("customer-definitions/", insights_api.CustomerDefinitionsApi.as_view(), name="api-customer-definitions"),
    path(
        "customer-definitions/<str:by>/<erp_id:value>/",
        insights_api.CustomerDefinitionApi.as_view(),
        name="api-customer-definition",
    ),
    path("interactions/", InteractionListApi.as_view(), name="api-interaction-list"),
    path("interactions/<int:pk>/", InteractionDetailApi.as_view(), name="api-interaction-detail"),
    path("jobs/", JobListApi.as_view(), name="api-job-list"),
    path("jobs/<int:pk>/", JobDetailApi.as_view(), name="api-job-detail"),
    path("imports/", ImportListApi.as_view(), name="api-import-list"),
    path("imports/<int:pk>/", ImportDetailApi.as_view(), name="api-import-detail"),
    path("imports/<int:pk>/errors.csv", ImportErrorsCsvApi.as_view(), name="api-import-errors"),
    path("imports/<int:pk>/cancel/", ImportCancelApi.as_view(), name="api-import-cancel"),
    path("runs/", segments_api.RunListApi.as_view(), name="api-run-list"),
    path("runs/<int:pk>/", segments_api.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<int:pk>/scores/", segments_api.RunScoresApi.as_view(), name="api-run-scores"),
    path("runs/<int:pk>/publish/", segments_api.RunPublishApi.as_view(), name="api-run-publish"),
    path("runs/<int:pk>/cancel/", segments_api.RunCancelApi.as_view(), name="api-run-cancel"),
    path("runs/<int:pk>/profit-centers/", segments_api.RunProfitCentersApi.as_view(), name="api-run-profit-centers"),
    path("runs/<int:pk>/compare/", segments_api.RunCompareApi.as_view(), name="api-run-compare"),
    path("settings/", segments_api.SettingsApi.as_view(), name="api-model-settings"),
    path("settings/history/", segments_api.SettingsHistoryApi.as_view(), name="api-model-settings-history"),
    path("alerts/", alerts_api.AlertListApi.as_view(), name="api-alert-list"),
    path("alerts/settings/", alerts_api.AlertSettingsApi.as_view(), name="api-alert-settings"),
    path("alerts/<int:alert_id>/status/", alerts_api.AlertStatusApi.as_view(), name="api-alert-status"),
    # Benchmarks (issue 16).
    path("coaching/reps/", insights_api.CoachingRepsApi.as_view(), name="api-coaching-reps"),
    path("leakage/", insights_api.LeakageApi.as_view(), name="api-leakage"),
    path("history/", insights_api.HistoryApi.as_view(), name="api-history"),
    path("customers/<erp_id:customer_id>/gaps/", insights_api.CustomerGapsApi.as_view(), name="api-customer-gaps"),
    # Core-first operations (issue 17)
    path("operations/cut-impact/", operations_api.CutImpactApi.as_view(), name="api-ops-cut-impact"),
    path("operations/scenarios/", operations_api.ScenarioListApi.as_view(), name="api-ops-scenarios"),
    path("operations/scenarios/compare/", operations_api.ScenarioCompareApi.as_view(), name="api-ops-compare"),
    path(
        "operations/scenarios/<int:scenario_id>/", operations_api.ScenarioDetailApi.as_view(), name="api-ops-scenario"
    ),
    path("operations/core-demand/", operations_api.CoreDemandApi.as_view(), name="api-ops-core-demand"),
    path("operations/scarce-stock/", operations_api.ScarceStockApi.as_view(), name="api-ops-scarce-stock"),
    path(
        "operations/scarce-stock/allocation/",
        operations_api.ScarceAllocationApi.as_view(),
        name="api-ops-allocation",
    ),
    path("operations/stock/", operations_api.StockApi.as_view(), name="api-ops-stock"),
    path("operations/deliveries/", operations_api.DeliveriesApi.as_view(), name="api-ops-deliveries"),
    path("operations/deliveries/consolidate/", operations_api.ConsolidateApi.as_view(), name="api-ops-consolidate"),
    path("operations/lookalikes/", operations_api.LookalikesApi.as_view(), name="api-ops-lookalikes"),
    path("operations/settings/", operations_api.OperationsSettingsApi.as_view(), name="api-ops-settings"),
]

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("tenants/", TenantListApi.as_view(), name="api-tenant-list"),
    path("tenants/<slug:tenant>/", include(tenant_patterns)),
]
