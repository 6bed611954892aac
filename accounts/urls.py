from django.contrib.auth import urls as auth_urls
from django.contrib.auth.views import LoginView
from django.urls import path

from . import views
from .forms import LoginForm

urlpatterns = [
    # django.contrib.auth's views, with the login form's username bounded (see LoginForm).
    path("login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    *(pattern for pattern in auth_urls.urlpatterns if pattern.name != "login"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation-accept"),
]

tenant_urlpatterns = [
    path("", views.TenantHomeView.as_view(), name="tenant-home"),
    path("members/", views.MembersView.as_view(), name="members"),
    path("members/<int:pk>/", views.MemberRoleView.as_view(), name="member-role"),
]
