from django.urls import path

import stratify.tenancy.converters  # noqa: F401  (registers <erp_id:...>)

from . import views

tenant_urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("dashboard/quadrant.json", views.QuadrantDataView.as_view(), name="dashboard-quadrant"),
    path("profit-centers/", views.ProfitCentersView.as_view(), name="profit-centers"),
    path("worklist/", views.WorklistView.as_view(), name="worklist"),
    path("alerts/", views.AlertListView.as_view(), name="alert-list"),
    path("alerts/settings/", views.AlertSettingsView.as_view(), name="alert-settings"),
    path("alerts/digest/", views.DigestSubscriptionView.as_view(), name="alert-digest"),
    path("alerts/<int:alert_id>/status/", views.AlertStatusView.as_view(), name="alert-status"),
    path("scorecard/", views.ScorecardView.as_view(), name="scorecard"),
    path("scorecard/print/", views.ScorecardPrintView.as_view(), name="scorecard-print"),
    path("customers/", views.MyCustomersView.as_view(), name="my-customers"),
    path("customers/<erp_id:customer_id>/", views.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<erp_id:customer_id>/review/", views.CustomerReviewView.as_view(), name="customer-review"),
    path("customers/<erp_id:customer_id>/scorecard/", views.CustomerScorecardView.as_view(), name="customer-scorecard"),
    path(
        "customers/<erp_id:customer_id>/interactions/",
        views.InteractionCreateView.as_view(),
        name="interaction-create",
    ),
    # Channels (issue 14): the map, partners, customer definitions, interaction points.
    path("channels/map/", views.ChannelMapView.as_view(), name="channel-map"),
    path("channels/partners/", views.PartnerListView.as_view(), name="partner-list"),
    path("channels/partners/<erp_id:partner_id>/", views.PartnerDetailView.as_view(), name="partner-detail"),
    path("channels/definitions/", views.DefinitionsView.as_view(), name="customer-definitions"),
    path(
        "channels/definitions/<str:by>/<erp_id:value>/",
        views.DefinitionDetailView.as_view(),
        name="customer-definition",
    ),
    path("channels/interactions/", views.InteractionListView.as_view(), name="interaction-list"),
]

# Benchmarks (issue 16).
tenant_urlpatterns += [
    path("benchmarks/coaching/", views.CoachingView.as_view(), name="coaching"),
    path("benchmarks/coaching/<erp_id:rep_id>/", views.RepCoachingView.as_view(), name="coaching-rep"),
]
tenant_urlpatterns += [
    path("benchmarks/leakage/", views.LeakageView.as_view(), name="leakage"),
    path("benchmarks/leakage/customers/", views.LeakageCustomersView.as_view(), name="leakage-customers"),
]
tenant_urlpatterns += [
    path("benchmarks/history/", views.HistoryView.as_view(), name="history"),
]
tenant_urlpatterns += [
    path("benchmarks/segments/", views.SideBySideView.as_view(), name="benchmark-segments"),
]
tenant_urlpatterns += [
    path("customers/<erp_id:customer_id>/gaps/", views.CustomerGapsExportView.as_view(), name="customer-gaps-export"),
    # Core-first operations (issue 17)
    path("operations/cut-impact/", views.CutImpactView.as_view(), name="ops-cut-impact"),
    path("operations/core-demand/", views.CoreDemandView.as_view(), name="ops-core-demand"),
    path("operations/scarce-stock/", views.ScarceStockView.as_view(), name="ops-scarce-stock"),
    path("operations/stock/", views.StockView.as_view(), name="ops-stock"),
    path("operations/deliveries/", views.DeliveriesView.as_view(), name="ops-deliveries"),
    path("operations/marketing/", views.MarketingListView.as_view(), name="ops-marketing"),
]
