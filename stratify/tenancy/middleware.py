"""Pages under `/<tenant>/`: resolve the distributor and the membership, answer 404 when either is
missing, and run the view *and its rendering* inside the tenant's scope (so nothing lazy escapes it).

Requests outside a tenant URL run with no scope at all: a tenant-owned query there raises."""

import re

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
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
        # A member's multipart form (a page's POST): its fields are checked like any form's (see
        # InputGuardMiddleware), except by a view that reads its own body (csrf_exempt: the upload
        # views, which set their size-limited upload handler first, and check their fields).
        if request.method == "POST" and not getattr(match.func, "csrf_exempt", False):
            refusal = InputGuardMiddleware.refusal(request, multipart_problem)
            if refusal is not None:
                return refusal
        with scope(distributor=membership.distributor):
            response = self.get_response(request)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response


# A NUL in a JSON text: "\u0000" after an even number of backslashes (an odd number escapes it).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


class InputGuardMiddleware:
    """Refuses, with a 400 that says why, a NUL character in the query string, in a form's fields or in
    a JSON body (escaped as \\u0000 too): no field of ours can hold one, PostgreSQL refuses it in any
    text value, and a write or filter passing it on would answer 500. Also a query string or form with
    more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, or a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django
    raises, and its debug page raises again reading them: a 500 in development).

    A multipart body is not read here, before anyone is authenticated (its files would go to disk for
    anybody): `TenantMiddleware` checks a tenant page's, for a signed-in member, and the API's base
    view (`stratify.tenancy.api`) a form or multipart body once the user is authenticated."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.refusal(request, self.problem) or self.get_response(request)

    @staticmethod
    def refusal(request, check):
        try:
            problem = check(request)
        except TooManyFieldsSent:
            problem = f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields."
        except RequestDataTooBig:
            problem = f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)} MB."
        if problem is None:
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": problem}, status=400)
        return HttpResponseBadRequest(problem)

    @staticmethod
    def _writes(request) -> bool:
        return request.method in ("POST", "PUT", "PATCH")

    def problem(self, request) -> str | None:
        if _has_nul(request.META.get("QUERY_STRING", ""), request.GET):
            return "The query string holds a NUL character."
        if not self._writes(request):
            return None
        content_type = request.content_type or ""
        if content_type == "application/x-www-form-urlencoded":
            return form_problem(request.POST)
        if (content_type == "application/json" or content_type.endswith("+json")) and (
            b"\x00" in request.body or _JSON_NUL.search(request.body)
        ):
            return "A text in the request body holds a NUL character."
        return None


def form_problem(fields) -> str | None:
    """Why a form's fields (a QueryDict) are refused, or None."""
    return "A field of the form holds a NUL character." if _has_nul("", fields) else None


def multipart_problem(request) -> str | None:
    return form_problem(request.POST) if (request.content_type or "") == "multipart/form-data" else None


def _has_nul(raw: str, fields) -> bool:
    return "\x00" in raw or any("\x00" in key or any("\x00" in v for v in values) for key, values in fields.lists())
