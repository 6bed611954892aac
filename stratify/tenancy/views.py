"""Bases for HTML views under `/<tenant>/`: the middleware has resolved the membership; the view
declares the permission it needs per method (see permissions.py) and gets 403 without it, and the
objects its URL names (see lookups.py), which it receives already found (404 otherwise)."""

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied

from .lookups import ObjectLookup, convert_args
from .permissions import Perm, required_perm, role_has


class TenantViewMixin:
    permission: dict[str, Perm] | Perm | None = None
    lookups: Sequence[ObjectLookup] = ()

    def dispatch(self, request, *args, **kwargs):
        self.membership = request.membership
        self.distributor = request.distributor
        if self.membership is None:  # a tenant view mounted outside a tenant URL: a programming error
            raise PermissionDenied("No tenant.")
        try:
            perm = required_perm(self.permission, request.method)
        except PermissionError:
            return self.http_method_not_allowed(request, *args, **kwargs)
        if not role_has(self.membership.role, perm):
            raise PermissionDenied("Your role does not allow this.")
        kwargs.pop("tenant", None)
        convert_args(self, kwargs, self.lookups)
        return super().dispatch(request, *args, **kwargs)
