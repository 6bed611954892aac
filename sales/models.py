"""What the distributor's ERP knows: reps, customers, products and invoice lines.

Natural keys are the ERP's ids, unique per distributor; surrogate bigint keys join the tables."""

from django.db import models

from stratify.tenancy.models import TenantOwnedModel

MONEY = {"max_digits": 18, "decimal_places": 4}


class Rep(TenantOwnedModel):
    rep_id = models.CharField("rep code", max_length=100)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    branch = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "rep_id"], name="rep_natural_key")]
        ordering = ["rep_id"]

    def __str__(self) -> str:
        return self.name or self.rep_id


class Customer(TenantOwnedModel):
    class SupplyChainRole(models.TextChoices):
        END_USER = "end_user", "End user"
        RESELLER = "reseller", "Reseller"
        INSTALLER = "installer", "Installer"
        OEM = "oem", "OEM"
        DISTRIBUTOR = "distributor", "Distributor"
        OTHER = "other", "Other"

    customer_id = models.CharField("account number", max_length=100)
    name = models.CharField(max_length=255, blank=True)
    customer_class = models.CharField(max_length=100, blank=True)
    supply_chain_role = models.CharField(max_length=20, choices=SupplyChainRole.choices, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    branch = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers")
    preferred_ship_method = models.CharField(max_length=50, blank=True)
    potential_annual_spend = models.DecimalField(null=True, blank=True, **MONEY)
    reasons_for_purchase = models.TextField(blank=True)
    credit_terms_days = models.IntegerField(null=True, blank=True)
    parent_customer_id = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "customer_id"], name="customer_natural_key")]
        indexes = [models.Index(fields=["distributor", "rep"], name="customer_tenant_rep_idx")]
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return f"{self.name or self.customer_id} ({self.customer_id})"


class Product(TenantOwnedModel):
    product_id = models.CharField("SKU", max_length=100)
    name = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=100, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    supplier_id = models.CharField(max_length=100, blank=True)
    is_stock = models.BooleanField(null=True, blank=True)
    replacement_cycle_days = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "product_id"], name="product_natural_key")]
        ordering = ["product_id"]

    def __str__(self) -> str:
        return self.name or self.product_id


class InvoiceLine(TenantOwnedModel):
    """One line of an invoice (negative quantity or revenue: a return or credit).

    Its foreign keys have no database constraint (`db_constraint=False`): a table of tens of millions
    of rows is written only by the import's set-based merge, which takes every id from a join on the
    same tenant's rows, and PostgreSQL's per-row FK triggers (five per line, deferred to commit) cost
    more than the whole load. Deletes still cascade: Django applies on_delete itself."""

    id = models.BigAutoField(primary_key=True)
    distributor = models.ForeignKey(
        "accounts.Distributor", on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    invoice_id = models.CharField(max_length=100)
    line_no = models.IntegerField()
    invoice_date = models.DateField()
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="invoice_lines", db_index=False, db_constraint=False
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="invoice_lines", db_index=False, db_constraint=False
    )
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    revenue = models.DecimalField(**MONEY)
    cost = models.DecimalField(**MONEY)
    ship_method = models.CharField(max_length=50, blank=True)
    branch = models.CharField(max_length=100, blank=True)
    rep = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False, db_constraint=False
    )
    channel = models.CharField(max_length=100, blank=True)
    partner = models.ForeignKey(
        "stratify_channels.Partner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    special_order = models.BooleanField(default=False)
    days_to_pay = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "invoice_id", "line_no"], name="invoiceline_natural_key")
        ]
        indexes = [
            models.Index(fields=["distributor", "customer", "invoice_date"], name="invoiceline_customer_idx"),
            models.Index(fields=["distributor", "invoice_date"], name="invoiceline_date_idx"),
        ]


class CustomerMonth(TenantOwnedModel):
    """Per customer and calendar month: sums kept up to date at import time so pages and trends never
    scan invoice lines. Derived data written only by the import's set-based refresh, so, like invoice
    lines, without database FK constraints (their per-row checks at commit cost seconds per million)."""

    distributor = models.ForeignKey(
        "accounts.Distributor", on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="months", db_index=False, db_constraint=False
    )
    month = models.DateField(help_text="First day of the month")
    revenue = models.DecimalField(**MONEY)
    cost = models.DecimalField(**MONEY)
    lines = models.IntegerField()
    return_lines = models.IntegerField()
    orders = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "customer", "month"], name="customermonth_natural_key")
        ]
