"""A job: one unit of long work with status, progress and a heartbeat that every task reports into."""

from django.conf import settings
from django.db import models

from stratify.tenancy.models import TenantOwnedModel
from stratify.tenancy.numbering import TenantNumbered

from .registry import kind_label


class Job(TenantOwnedModel, TenantNumbered):
    """`number` is per tenant (pages, URLs and the API use it); imports, jobs of kind "import", share it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    FINISHED = (Status.SUCCEEDED, Status.FAILED)

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set when someone asks a running job to stop: its next progress report raises JobCancelled.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "number"], name="job_number_per_tenant")]
        indexes = [
            models.Index(fields=["distributor", "-created_at"], name="job_tenant_recent_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat_idx"),
        ]
        ordering = ["-created_at", "-id"]

    @property
    def kind_label(self) -> str:
        """The kind in words (`registry.KIND_LABELS`)."""
        return kind_label(self.kind)

    def __str__(self) -> str:
        return f"{self.kind} #{self.number} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
