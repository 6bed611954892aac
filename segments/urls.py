from django.urls import path

from . import views

tenant_urlpatterns = [
    path("model/", views.ModelSettingsView.as_view(), name="model-settings"),
    path("model/run/", views.RunRequestView.as_view(), name="run-request"),
    path("model/runs/<int:run_id>/", views.RunDetailView.as_view(), name="run-detail"),
    path("model/runs/<int:run_id>/cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path("model/runs/<int:run_id>/tier-notices/", views.TierNoticeSendView.as_view(), name="tier-notices-send"),
    path("tiers/", views.TierPolicyListView.as_view(), name="tier-policies"),
    path("tiers/suggest/", views.TierSuggestView.as_view(), name="tier-suggest"),
    path("tiers/<slug:segment>/", views.TierPolicyEditView.as_view(), name="tier-policy-edit"),
]
