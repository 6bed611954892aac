"""What the operations pages keep (issue 17): the tenant's thresholds, and the named cut scenarios
purchasing saves to compare. Everything else they show is computed from the published run, the
invoice lines and the inventory import (see `selectors`)."""

from django.conf import settings as django_settings
from django.db import models

from stratify.tenancy.models import TenantOwnedModel


class OperationsSettings(TenantOwnedModel):
    """The thresholds of the operations pages; a tenant without a row reads the defaults."""

    default_lead_time_days = models.PositiveIntegerField(
        default=14, help_text="Lead time of a product whose inventory row gives none (days)"
    )
    stock_min_orders = models.PositiveIntegerField(
        default=3, help_text="Candidate to stock: a non-stock item core customers ordered at least this often"
    )
    stock_min_core_customers = models.PositiveIntegerField(
        default=1, help_text="…and that at least this many core customers bought"
    )
    drop_max_lines = models.PositiveIntegerField(
        default=4, help_text="Candidate to drop: a stock item no core customer bought, with at most this many lines"
    )
    max_deliveries_per_week = models.PositiveIntegerField(
        default=1, help_text="Consolidation: marginal customers' deliveries kept per week"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor"], name="operationssettings_one_per_tenant")]
        verbose_name_plural = "operations settings"

    def __str__(self) -> str:
        return "operations settings"


class CutScenario(TenantOwnedModel):
    """A named "what if we stopped buying from …" choice: suppliers (ids), brands (names) and products
    (SKUs); a line matching any of them is cut. Its figures are recomputed from the published run
    whenever it is shown, so two scenarios compare on the same data."""

    name = models.CharField(max_length=100)
    suppliers = models.JSONField(default=list, blank=True)
    brands = models.JSONField(default=list, blank=True)
    products = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "name"], name="cutscenario_natural_key")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def choice(self) -> dict[str, list[str]]:
        return {"supplier": list(self.suppliers), "brand": list(self.brands), "product": list(self.products)}
