"""The Django admin's base for tenant-owned models."""

from django.contrib import admin
from django_scopes import scopes_disabled


class UnscopedAdmin(admin.ModelAdmin):
    """Platform staff see every tenant: the admin is the one place that opts out of scoping. Responses
    are rendered inside the opt-out too (widgets such as raw-id labels query while rendering)."""

    def get_queryset(self, request):
        with scopes_disabled():
            return super().get_queryset(request).all()

    def _unscoped(self, view, *args, **kwargs):
        with scopes_disabled():
            response = view(*args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            return response

    def changeform_view(self, *args, **kwargs):
        return self._unscoped(super().changeform_view, *args, **kwargs)

    def changelist_view(self, *args, **kwargs):
        return self._unscoped(super().changelist_view, *args, **kwargs)

    def delete_view(self, *args, **kwargs):
        return self._unscoped(super().delete_view, *args, **kwargs)

    def history_view(self, *args, **kwargs):
        return self._unscoped(super().history_view, *args, **kwargs)
