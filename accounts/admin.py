from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django_scopes import scopes_disabled

from .models import Distributor, Invitation, Membership, User


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


admin.site.register(User, UserAdmin)


@admin.register(Distributor)
class DistributorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "currency", "created_at")
    search_fields = ("name", "slug")


@admin.register(Membership)
class MembershipAdmin(UnscopedAdmin):
    list_display = ("user", "distributor", "role", "rep", "customer")
    list_filter = ("role", "distributor")
    raw_id_fields = ("user", "rep", "customer")


@admin.register(Invitation)
class InvitationAdmin(UnscopedAdmin):
    list_display = ("email", "distributor", "role", "created_at", "accepted_at")
    raw_id_fields = ("rep", "customer", "invited_by")
