from django.urls import path

from . import views

tenant_urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("scorecard/", views.ScorecardView.as_view(), name="scorecard"),
]
