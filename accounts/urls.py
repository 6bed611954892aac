from django.contrib.auth.views import LoginView
from django.urls import include, path

from . import views
from .forms import LoginForm

urlpatterns = [
    # Before django.contrib.auth.urls, whose "login" it replaces: the same view with a bounded username.
    path("login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("", include("django.contrib.auth.urls")),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation-accept"),
]

tenant_urlpatterns = [
    path("", views.TenantHomeView.as_view(), name="tenant-home"),
    path("members/", views.MembersView.as_view(), name="members"),
    path("members/<int:pk>/", views.MemberRoleView.as_view(), name="member-role"),
]
