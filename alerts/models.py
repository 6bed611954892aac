"""Alerts (docs INSIGHTS.md): what a published run tells reps and managers to do next.

An `Alert` is one (kind, subject) of one tenant: the same pair raised by a later run is the same row
(`raised_run` the run that raised it, `last_run` the latest run that confirmed it). Its status follows
the life cycle of `alerts.services` and every change is kept in `AlertStatusChange` (who, when, note).
`AlertSettings` holds the tenant's thresholds (INSIGHTS.md's defaults); `AlertRaise` records each run
the job has raised alerts for (re-running it for the same run changes nothing); `DigestSubscription`
a user's choice about the weekly digest e-mail."""

from decimal import Decimal

from django.conf import settings as django_settings
from django.db import models

from stratify.tenancy.models import TenantOwnedModel


class Kind(models.TextChoices):
    MOVED_DOWN = "moved_down", "Moved down"
    LAPSED = "lapsed", "Lapsed"
    SLIPPING = "slipping", "Slipping"
    OVERDUE = "overdue", "Overdue"
    CATEGORY_LEAKAGE = "category_leakage", "Category leakage"
    CATEGORY_GAP = "category_gap", "Category gap"
    REPLENISHMENT_DUE = "replenishment_due", "Replenishment due"
    NEAR_CORE = "near_core", "Near core"
    COST_TO_SERVE_FIX = "cost_to_serve_fix", "Cost-to-serve fix"
    CORE_SLOWDOWN = "core_slowdown", "Core slowdown"
    SEGMENT_SHIFT = "segment_shift", "Segment shift"


RISK_KINDS = ("moved_down", "lapsed", "slipping", "overdue", "category_leakage")
OPPORTUNITY_KINDS = ("category_gap", "replenishment_due", "near_core", "cost_to_serve_fix")
DISTRIBUTOR_KINDS = ("core_slowdown", "segment_shift")
KINDS = (*RISK_KINDS, *OPPORTUNITY_KINDS, *DISTRIBUTOR_KINDS)


class Severity(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    DONE = "done", "Done"
    DISMISSED = "dismissed", "Dismissed"


# The alerts still to work (the worklist, the navigation's count, the job's confirmations).
ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED)


class SubjectType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    CATEGORY = "category", "Category"
    BRAND = "brand", "Brand"
    SUPPLIER = "supplier", "Supplier"
    PRODUCT = "product", "Product"
    BRANCH = "branch", "Branch"
    CUSTOMER_CLASS = "customer_class", "Customer class"
    REP = "rep", "Rep"


class Alert(TenantOwnedModel):
    """Written by the alert job a hundred thousand rows at once (COPY), so, like the run's scores, its
    foreign keys have no database constraint: PostgreSQL's deferred per-row checks cost more at commit
    than the COPY itself. Deletes still cascade (or set null): Django applies on_delete itself."""

    id = models.BigAutoField(primary_key=True)
    distributor = models.ForeignKey(
        "accounts.Distributor", on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # The identity of the alert within its kind: "<customer pk>|<subject_type>|<subject>".
    key = models.CharField(max_length=400)
    customer = models.ForeignKey(
        "sales.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    subject_type = models.CharField(max_length=20, choices=SubjectType.choices)
    subject = models.CharField(max_length=255, help_text="The customer's account number, or the category, ...")
    # The assignee: the customer's assigned rep when raised (empty: managers, distributor-wide kinds).
    # No single-column FK indexes (writes of a hundred thousand alerts pay for each index): the
    # tenant-first indexes below cover the reads.
    rep = models.ForeignKey(
        "sales.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    segment = models.CharField(max_length=20, blank=True, help_text="The customer's segment in the last run")
    raised_run = models.ForeignKey(
        "segments.StratificationRun", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    last_run = models.ForeignKey(
        "segments.StratificationRun", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    amount = models.DecimalField(max_digits=20, decimal_places=2, help_text="Money at stake")
    figures = models.JSONField(default=dict)
    message = models.TextField()
    # A fingerprint of what the run said (severity, amount, figures, message, segment, rep): a later run
    # that says the same rewrites nothing but `last_run` (alerts.services.content_digest).
    digest = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    # What the figures were when it was dismissed (quiet while they stay within 10% of these).
    dismissed_figures = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "kind", "key"], name="alert_one_per_subject")]
        indexes = [
            models.Index(fields=["distributor", "status", "-amount"], name="alert_status_amount_idx"),
            models.Index(fields=["distributor", "-amount", "id"], name="alert_amount_idx"),
            models.Index(fields=["distributor", "customer"], name="alert_customer_idx"),
            models.Index(fields=["distributor", "rep", "status"], name="alert_rep_status_idx"),
        ]
        ordering = ["-amount", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"


class AlertStatusChange(TenantOwnedModel):
    """Who changed an alert's status, when, and why (`changed_by` empty: the alert job itself)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="changes", db_index=False)
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15)
    note = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    run = models.ForeignKey(
        "segments.StratificationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["distributor", "alert", "changed_at"], name="alertchange_alert_idx")]
        ordering = ["changed_at", "id"]


# INSIGHTS.md's thresholds with their defaults: (field, default, kind of value). Kinds: "days" a whole
# number of days >= 1, "count" a whole number >= 1, "share" strictly between 0 and 1, "factor" > 0.
SETTING_FIELDS: tuple[tuple[str, object, str, str], ...] = (
    ("recent_days", 90, "days", "Recent span (days)"),
    ("slip_drop", Decimal("0.30"), "share", "Slipping: drop of recent revenue on a year earlier"),
    ("overdue_min_orders", 4, "count", "Overdue: minimum order dates in the window"),
    ("overdue_factor", Decimal("2.0"), "factor", "Overdue: times the median gap"),
    ("overdue_min_days", 30, "days", "Overdue: minimum days since the last order"),
    ("leak_min_share", Decimal("0.05"), "share", "Category leakage: minimum share of prior revenue"),
    ("leak_drop", Decimal("0.50"), "share", "Category leakage: drop in the category"),
    ("leak_total_floor", Decimal("0.80"), "factor", "Category leakage: total kept at least (x prior)"),
    ("gap_core_share", Decimal("0.50"), "share", "Category gap: share of core customers buying it"),
    ("replenish_min_dates", 3, "count", "Replenishment: purchase dates to learn a cycle"),
    ("near_core_gap", Decimal("0.05"), "share", "Near core: distance to the threshold"),
    ("cost_excess", Decimal("0.50"), "factor", "Cost-to-serve fix: excess over the core median"),
    ("slowdown_drop", Decimal("0.20"), "share", "Core slowdown: drop on a year earlier"),
    ("slowdown_min_share", Decimal("0.01"), "share", "Core slowdown: minimum share of core revenue"),
    ("slowdown_total_floor", Decimal("0.95"), "factor", "Core slowdown: core total kept at least (x a year earlier)"),
    ("shift_points", Decimal("5"), "points", "Segment shift: fall in core share (points)"),
    ("dismiss_tolerance", Decimal("0.10"), "share", "A dismissed alert stays quiet within this change"),
)
SETTING_DEFAULTS = {name: default for name, default, _, _ in SETTING_FIELDS}


class AlertSettings(TenantOwnedModel):
    """The tenant's alert thresholds (one row; created with the defaults when first read)."""

    recent_days = models.PositiveIntegerField(default=90)
    slip_drop = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.30"))
    overdue_min_orders = models.PositiveIntegerField(default=4)
    overdue_factor = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("2.0"))
    overdue_min_days = models.PositiveIntegerField(default=30)
    leak_min_share = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.05"))
    leak_drop = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.50"))
    leak_total_floor = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.80"))
    gap_core_share = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.50"))
    replenish_min_dates = models.PositiveIntegerField(default=3)
    near_core_gap = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.05"))
    cost_excess = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.50"))
    slowdown_drop = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.20"))
    slowdown_min_share = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.01"))
    slowdown_total_floor = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.95"))
    shift_points = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("5"))
    dismiss_tolerance = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0.10"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor"], name="alertsettings_one_per_tenant")]

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name, _, _, _ in SETTING_FIELDS}


class AlertRaise(TenantOwnedModel):
    """One run the alert job has raised alerts for, with the counts per kind it found."""

    run = models.ForeignKey("segments.StratificationRun", on_delete=models.CASCADE, related_name="+", db_index=False)
    counts = models.JSONField(default=dict)
    settings = models.JSONField(default=dict, help_text="The alert settings used")
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "run"], name="alertraise_one_per_run")]


class DigestSubscription(TenantOwnedModel):
    """A user's weekly digest choice for one tenant (no row: subscribed)."""

    user = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weekly_digest = models.BooleanField(default=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "user"], name="digest_one_per_user")]
