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


# --- the cut's per-run tables ----------------------------------------------------------------------
# Written once per succeeded run (published or a what-if preview: each its own rows) by the
# `cut_tables` job (`operations.services.cut_tables_write`), from the run's window lines and the run's
# segments, then never changed, like the scores. Derived rows written in bulk, so their foreign keys
# have no database constraint (as the scores'). They go with their run or their tenant (deletes cascade
# through Django); customers and products are never deleted on their own, so those keys do nothing on
# delete (a cascade there would scan the table: it has no index by customer or product).


def _run_fk(related_name: str):
    return models.ForeignKey(
        "segments.StratificationRun",
        on_delete=models.CASCADE,
        related_name=related_name,
        db_index=False,
        db_constraint=False,
    )


class RunCutTables(TenantOwnedModel):
    """The run's cut tables are written: `CutPair`, `CoreCustomer` and `CoreProduct` rows exist for it (a run with no
    window lines has none, and still this row), from the data of `imports_stamp` (the latest import
    then; a later import makes the cut read the lines again until a new run)."""

    run = _run_fk("+")
    imports_stamp = models.CharField(max_length=64, blank=True)
    pairs = models.IntegerField(default=0, help_text="CutPair rows written")
    pair_list = models.JSONField(default=list, help_text="The (supplier, brand) pairs of those rows")
    core_products = models.IntegerField(default=0)
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "run"], name="runcuttables_one_per_run")]


class _RunRow(TenantOwnedModel):
    """A row of a run's cut tables: derived, written once by the cut_tables job, so without database FK
    constraints (as the scores) and with the tables' own tenant-first indexes only."""

    id = models.BigAutoField(primary_key=True)
    distributor = models.ForeignKey(
        "accounts.Distributor", on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    run = _run_fk("+")

    class Meta:
        abstract = True


class CutPair(_RunRow):
    """One customer's window lines of one (supplier, brand) pair in one run, summed: a cut by suppliers
    and brands is the sum of the pairs it matches (a line matches iff its product's pair does). Every
    customer with a score in the run, whatever its segment (the cut reports every segment)."""

    customer = models.ForeignKey(
        "sales.Customer", on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    segment = models.CharField(max_length=20)
    supplier_id = models.CharField(max_length=100, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    lines = models.IntegerField()
    special_lines = models.IntegerField()
    revenue_units = models.BigIntegerField(help_text="Revenue in integer units of 1/10,000")
    cost_units = models.BigIntegerField(help_text="Cost in integer units of 1/10,000")

    class Meta:
        indexes = [models.Index(fields=["distributor", "run", "supplier_id", "brand"], name="cutpair_pair_idx")]


class CoreCustomer(_RunRow):
    """A core customer of the run as a cut lists it: account number and name (when the run's tables were
    written) and its window revenue as the run computed it (every window line; the score's)."""

    customer = models.ForeignKey(
        "sales.Customer", on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    account = models.CharField(max_length=100, help_text="The customer's account number (its customer_id)")
    name = models.CharField(max_length=255, blank=True)
    window_revenue = models.FloatField(null=True)

    class Meta:
        indexes = [models.Index(fields=["distributor", "run", "customer"], name="corecustomer_run_idx")]


class CoreProduct(_RunRow):
    """A product the run's core customers bought in its window: how many of them and their revenue
    (the cut's alternatives; products of an empty category are left out, they have no alternatives)."""

    product = models.ForeignKey(
        "sales.Product", on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    core_customers = models.IntegerField()
    revenue_units = models.BigIntegerField(help_text="Core revenue in integer units of 1/10,000")

    class Meta:
        indexes = [models.Index(fields=["distributor", "run"], name="coreproduct_run_idx")]
