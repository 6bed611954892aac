"""Base for `/api/v1/tenants/<tenant>/...` endpoints (the tenant is injected, as Sentry's
OrganizationEndpoint does): authenticate, find the membership (404 when missing), check the role's
permission for the method (403), find the objects the URL names (`lookups`, 404), then run the
handler inside the tenant's scope."""

from collections.abc import Sequence

from django.http import Http404
from django_scopes import scope
from rest_framework import exceptions, generics
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .lookups import ObjectLookup, convert_args
from .permissions import Perm, required_perm, role_has
from .resolve import membership_for


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
        self._scope = scope(distributor=self.distributor)
        self._scope.__enter__()
        # `self.kwargs` is the very dict APIView.dispatch hands to the handler.
        convert_args(self, self.kwargs, self.lookups)

    def finalize_response(self, request, response, *args, **kwargs):
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


def exception_handler(exc, context):
    """DRF's handler, with Django's Http404 message kept and every error carrying a `detail`."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    return drf_exception_handler(exc, context)
