from django.urls import path

from . import views

tenant_urlpatterns = [
    path("imports/", views.ImportListView.as_view(), name="import-list"),
    path("imports/new/<str:upload>/", views.ImportPreviewView.as_view(), name="import-preview"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import-detail"),
    path("imports/<int:pk>/cancel/", views.ImportCancelView.as_view(), name="import-cancel"),
    path("imports/<int:pk>/errors.csv", views.ImportErrorsCsvView.as_view(), name="import-errors-csv"),
]
