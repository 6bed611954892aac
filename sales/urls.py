from django.urls import path

from . import views

tenant_urlpatterns = [
    path("customers/", views.MyCustomersView.as_view(), name="my-customers"),
    path("assignments/", views.RepAssignmentView.as_view(), name="rep-assignment"),
    path("customers/<str:customer_id>/", views.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<str:customer_id>/review/", views.CustomerReviewView.as_view(), name="customer-review"),
]
