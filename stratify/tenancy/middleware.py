"""Pages under `/<tenant>/`: resolve the distributor and the membership, answer 404 when either is
missing, and run the view *and its rendering* inside the tenant's scope (so nothing lazy escapes it).

Requests outside a tenant URL run with no scope at all: a tenant-owned query there raises."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import Resolver404, resolve
from django_scopes import scope

from .resolve import membership_for


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.distributor = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("tenant")
        if slug is None or match.route.startswith("api/"):
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        membership = membership_for(request.user, slug)
        if membership is None:
            raise Http404("No such distributor.")
        request.membership = membership
        request.distributor = membership.distributor
        with scope(distributor=membership.distributor):
            response = self.get_response(request)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response
