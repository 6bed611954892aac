"""Pages under `/<tenant>/`: resolve the distributor and the membership, answer 404 when either is
missing, and run the view *and its rendering* inside the tenant's scope (so nothing lazy escapes it).

Requests outside a tenant URL run with no scope at all: a tenant-owned query there raises."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseBadRequest, JsonResponse
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


class QueryStringGuardMiddleware:
    """Refuses, with a 400, a query string holding a NUL byte: no field of ours can contain one,
    PostgreSQL refuses it in any text parameter, and a filter passing it on would answer 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            message = "The query string holds a NUL character."
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
