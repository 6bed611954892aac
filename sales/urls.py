from django.urls import path

from . import views

tenant_urlpatterns = [
    path("customers/", views.MyCustomersView.as_view(), name="my-customers"),
]
