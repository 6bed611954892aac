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
            # A supplier, brand or product cut (operations.selectors.cut_impact) reads the window's lines
            # of the cut products only: an index-only range scan per product (PostgreSQL; SQLite
            # ignores INCLUDE) instead of a scan of every line (4.2 s at 10M lines; docs/BENCHMARKS.md).
            models.Index(
                fields=["distributor", "product", "invoice_date"],
                include=["customer", "revenue", "cost", "special_order"],
                name="invoiceline_product_idx",
            ),
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
    kept_lines = models.IntegerField(default=0, help_text="Non-return lines (the month is active when > 0)")
    orders = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "customer", "month"], name="customermonth_natural_key")
        ]


def _summary_fk(model, related_name: str = "+"):
    """A foreign key of a derived summary table: no database constraint (see CustomerMonth), and no
    index of its own (the table's tenant-first indexes cover it)."""
    return models.ForeignKey(
        model, on_delete=models.CASCADE, related_name=related_name, db_index=False, db_constraint=False
    )


class CustomerInvoice(TenantOwnedModel):
    """Per customer, invoice, invoice date and ship method: the sums of its lines, kept up to date at
    import time (`sales.summaries`) so that a stratification run reads about one row per invoice instead
    of every line. Money is in integer units of 1/10,000 (the lines' 4 decimal places), so sums are exact
    on every backend.

    "Kept" lines are the non-return ones (quantity and revenue >= 0), which the distinct counts of
    STRATIFICATION.md are taken over. Three flags, fixed at refresh time, turn those distinct counts into
    plain counts (see `segments.aggregates`):
    * `order_lead`: the kept row with the smallest ship method of its (customer, invoice);
    * `multi_date`: the invoice's kept rows fall on more than one date (rare; counted apart, exactly)."""

    distributor = _summary_fk("accounts.Distributor")
    customer = _summary_fk(Customer)
    invoice_id = models.CharField(max_length=100)
    invoice_date = models.DateField()
    ship_method = models.CharField(max_length=50, blank=True)
    lines = models.IntegerField()
    kept_lines = models.IntegerField()
    return_lines = models.IntegerField()
    special_order_lines = models.IntegerField()
    revenue_units = models.BigIntegerField(help_text="Sum of revenue, in 1/10,000")
    cost_units = models.BigIntegerField(help_text="Sum of cost, in 1/10,000")
    ar_units = models.BigIntegerField(help_text="Sum of revenue x days to pay, in 1/10,000")
    order_lead = models.BooleanField()
    multi_date = models.BooleanField()

    # The natural key is the primary key: no id sequence and no second index to fill per row.
    pk = models.CompositePrimaryKey("distributor", "customer", "invoice_id", "invoice_date", "ship_method")

    class Meta:
        indexes = [
            models.Index(
                fields=["distributor", "invoice_date"],
                condition=models.Q(multi_date=True),
                name="customerinvoice_multidate_idx",
            ),
        ]


class CustomerProductRecency(TenantOwnedModel):
    """Per customer and date: how many of its products had their last kept (non-return) line on that
    date. When no line is dated after a run's `as_of`, a product counts for the window exactly when its
    last kept date falls in it, so the window's distinct products are the sum of `products` over the
    dates from the window's start (see `segments.aggregates`). One row per (customer, date) instead of
    one per (customer, product): at 10M lines, about a third of the rows and of the import's time for it."""

    distributor = _summary_fk("accounts.Distributor")
    customer = _summary_fk(Customer)
    last_kept = models.DateField()
    products = models.IntegerField(help_text="Products whose last kept line is on this date")

    pk = models.CompositePrimaryKey("distributor", "customer", "last_kept")


class CustomerCategory(TenantOwnedModel):
    """Per customer and product category (non-empty): the last date of a kept line, derived from the
    customer's (product, last kept date) pairs and the products' current categories."""

    distributor = _summary_fk("accounts.Distributor")
    customer = _summary_fk(Customer)
    category = models.CharField(max_length=100)
    last_kept = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "customer", "category"], name="customercategory_natural_key")
        ]


class Inventory(TenantOwnedModel):
    """Stock of one product at one branch on a date (the optional `inventory` import, issue 17): what is
    on hand, what is on order, and how many days a reorder takes. One row per (product, branch); a new
    import of the same pair replaces its figures. `branch` may be empty (a single-warehouse tenant)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="inventory")
    branch = models.CharField(max_length=100, blank=True)
    on_hand = models.DecimalField(max_digits=18, decimal_places=4)
    on_order = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    lead_time_days = models.IntegerField(null=True, blank=True)
    as_of = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "product", "branch"], name="inventory_natural_key")
        ]
        ordering = ["product_id", "branch"]
        verbose_name_plural = "inventory"

    def __str__(self) -> str:
        return f"{self.product_id} @ {self.branch or '-'}"
