from django.urls import path

from . import views

tenant_urlpatterns = [
    path(
        "customers/<str:customer_id>/interactions/",
        views.InteractionCreateView.as_view(),
        name="interaction-create",
    ),
]
