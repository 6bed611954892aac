from django.contrib import admin

from stratify.tenancy.admin import UnscopedAdmin

from .models import Job


@admin.register(Job)
class JobAdmin(UnscopedAdmin):
    list_display = ("id", "distributor", "kind", "status", "progress", "attempts", "created_at", "finished_at")
    list_filter = ("status", "kind", "distributor")
    readonly_fields = ("started_at", "finished_at", "heartbeat_at", "created_at")
    raw_id_fields = ("created_by",)
