"""What the importer remembers per tenant: the column mapping last used for each kind of file."""

from django.db import models

from stratify.tenancy.models import TenantOwnedModel

from .formats import KIND_CHOICES


class ColumnMapping(TenantOwnedModel):
    """{canonical column: file column or `A - B`} and the date format, offered for the next upload."""

    kind = models.CharField(max_length=30, choices=KIND_CHOICES)
    mapping = models.JSONField(default=dict, blank=True)
    date_format = models.CharField(max_length=50, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "kind"], name="columnmapping_natural_key")]

    def __str__(self) -> str:
        return f"{self.kind} mapping"
