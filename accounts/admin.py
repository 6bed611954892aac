from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from stratify.tenancy.admin import UnscopedAdmin

from .models import Distributor, Invitation, Membership, User

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
