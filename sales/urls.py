from django.urls import path

from . import views

tenant_urlpatterns = [
    path("assignments/", views.RepAssignmentView.as_view(), name="rep-assignment"),
]
