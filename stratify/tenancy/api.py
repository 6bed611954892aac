"""Base for `/api/v1/tenants/<tenant>/...` endpoints (the tenant is injected, as Sentry's
OrganizationEndpoint does): authenticate, find the membership (404 when missing), check the role's
permission for the method (403), find the objects the URL names (`lookups`, 404), then run the
handler inside the tenant's scope."""

from collections.abc import Sequence

from django.http import Http404
from django_scopes import scope
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, generics, serializers
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from stratify.formatting import money_str

from .lookups import ObjectLookup, convert_args
from .middleware import form_problem
from .permissions import Perm, required_perm, role_has
from .resolve import membership_for


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+\.\d{2}$", "nullable": True})
class MoneyField(serializers.Field):
    """Money in every API answer: a decimal string with two decimals ("1234.50"), rounded half-even
    from the exact amount (floats of derived figures through their shortest repr); null stays null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return money_str(value)


class TenantRolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        membership = membership_for(request.user, view.kwargs.get("tenant", ""))
        if membership is None:
            raise exceptions.NotFound("No such distributor.")
        view.membership, view.distributor = membership, membership.distributor
        try:
            perm = required_perm(view.permission, request.method)
        except PermissionError:
            raise exceptions.MethodNotAllowed(request.method)
        return role_has(membership.role, perm)


class TenantScopedMixin:
    """Shared by every tenant endpoint. Subclasses set `permission` (a Perm or {method: Perm})."""

    permission: dict[str, Perm] | Perm | None = None
    lookups: Sequence[ObjectLookup] = ()
    permission_classes = [TenantRolePermission]
    membership = None
    distributor = None

    @property
    def queryset(self):
        """Only for code that inspects a view without a request, hence without a tenant (the OpenAPI
        generator): an EMPTY queryset of the serializer's model. Views build their real queryset in
        get_queryset() from self.distributor."""
        model = getattr(getattr(getattr(self, "serializer_class", None), "Meta", None), "model", None)
        return model._base_manager.none() if model is not None else None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A form or multipart body (a QueryDict; PUT and PATCH too), read once the user is known: its
        # fields are refused with a NUL as the middleware refuses a JSON text's (PostgreSQL would 500).
        if request.method in ("POST", "PUT", "PATCH") and hasattr(request.data, "lists"):
            problem = form_problem(request.data)
            if problem:
                raise exceptions.ParseError(problem)
        self._scope = scope(distributor=self.distributor)
        self._scope.__enter__()
        # `self.kwargs` is the very dict APIView.dispatch hands to the handler.
        convert_args(self, self.kwargs, self.lookups)

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(response, "status_code", 200) >= 400 and hasattr(response, "data") and response.data is not None:
            response.data = with_detail(response.data)
        response = super().finalize_response(request, response, *args, **kwargs)
        scope_cm, self._scope = getattr(self, "_scope", None), None
        if scope_cm is not None:
            try:  # render inside the scope, so nothing lazy is evaluated outside it
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
            finally:
                scope_cm.__exit__(None, None, None)
        return response


class TenantApiView(TenantScopedMixin, APIView):
    pass


class TenantListApi(TenantScopedMixin, generics.ListAPIView):
    pass


class TenantRetrieveApi(TenantScopedMixin, generics.RetrieveAPIView):
    pass


def _first_message(data) -> str | None:
    """The first message of a DRF error structure (a string, a list or a dict of them)."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        data = list(data.values())
    if isinstance(data, list | tuple):
        for item in data:
            message = _first_message(item)
            if message:
                return message
    return None


def with_detail(data):
    """An error body that carries a `detail` (a sentence a person can read), keeping what it said:
    a 400's field messages stay beside it, under their field names (or `errors` for a list)."""
    if isinstance(data, dict) and "detail" in data:
        return data
    if isinstance(data, dict):
        if data.get("non_field_errors"):
            message = _first_message(data["non_field_errors"])
        else:
            field, value = next(iter(data.items()), (None, None))
            message = _first_message(value)
            message = f"{field}: {message}" if field and message else message
        return {"detail": str(message or "Invalid input."), **data}
    if isinstance(data, list | tuple):
        return {"detail": _first_message(data) or "Invalid input.", "errors": list(data)}
    return {"detail": str(data) if data else "Error."}


def exception_handler(exc, context):
    """DRF's handler, with Django's Http404 message kept and every error carrying a `detail`: a 400
    from a serializer (a bad login to the token endpoint too) names the first problem in `detail` and
    keeps every field's messages beside it."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = with_detail(response.data)
    return response
