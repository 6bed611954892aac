"""Stratification: per-tenant model settings, runs, per-customer scores, and tier policies."""

from django.conf import settings as django_settings
from django.db import models

from stratify.engine import FACTORS
from stratify.tenancy.models import TenantOwnedModel
from stratify.tenancy.numbering import TenantNumbered

from .vocabulary import SEGMENT_CHOICES


class StratificationProfile(TenantOwnedModel):
    """One per distributor: the model settings in force, the published run, and the schedule."""

    class Schedule(models.TextChoices):
        OFF = "off", "Off"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    settings = models.JSONField(default=dict, blank=True, help_text="Overrides of the default model")
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.OFF)
    current_run = models.ForeignKey(
        "StratificationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_run = models.ForeignKey(
        "StratificationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The end of the qualification period customers' scorecards count towards (empty: the next
    # scheduled run; see `segments.selectors.qualification_end`).
    qualification_end = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor"], name="profile_one_per_tenant")]


class SettingsChange(TenantOwnedModel):
    """Who changed the model settings, when, and what (field -> [before, after])."""

    changed_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict)
    settings_after = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["distributor", "-changed_at"], name="settingschange_tenant_idx")]
        ordering = ["-changed_at", "-id"]


class StratificationRun(TenantOwnedModel, TenantNumbered):
    """`number` is per tenant: pages, URLs and the API use it, never the id."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="run")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    settings = models.JSONField(default=dict, help_text="The exact, complete settings used")
    as_of = models.DateField(null=True, blank=True)
    publish_requested = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    compared_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Which data the run read, all from one snapshot (segments.aggregates.read_run_input).
    data_seen = models.JSONField(default=dict, blank=True)
    totals = models.JSONField(default=dict, blank=True, help_text="Per segment: count and money totals")
    timings = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "number"], name="run_number_per_tenant")]
        indexes = [models.Index(fields=["distributor", "-created_at"], name="run_tenant_recent_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Run #{self.number} ({self.status})"


class CustomerScore(TenantOwnedModel):
    """One customer in one run: every factor, both scores and ranks, segment and explanation.
    Lapsed customers have a row with segment `lapsed` and no scores.

    Derived rows, written only by their run (tens of thousands at once, by COPY, with ids taken from
    the tenant's own rows), so none of their foreign keys has a database constraint, like invoice
    lines: PostgreSQL's deferred per-row checks cost seconds at commit. Deletes still cascade: Django
    applies on_delete itself."""

    id = models.BigAutoField(primary_key=True)
    distributor = models.ForeignKey(
        "accounts.Distributor", on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    run = models.ForeignKey(
        StratificationRun, on_delete=models.CASCADE, related_name="scores", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        "sales.Customer", on_delete=models.CASCADE, related_name="scores", db_index=False, db_constraint=False
    )
    segment = models.CharField(max_length=20, choices=SEGMENT_CHOICES)
    previous_segment = models.CharField(max_length=20, choices=SEGMENT_CHOICES, blank=True)
    value_score = models.FloatField(null=True)
    profit_score = models.FloatField(null=True)
    value_rank = models.FloatField(null=True)
    profit_rank = models.FloatField(null=True)
    # The factors of STRATIFICATION.md, section 2 (null when missing).
    revenue = models.FloatField(null=True)
    growth = models.FloatField(null=True)
    orders = models.FloatField(null=True)
    products = models.FloatField(null=True)
    categories = models.FloatField(null=True)
    active_months = models.FloatField(null=True)
    tenure_days = models.FloatField(null=True)
    recency_days = models.FloatField(null=True)
    gross_margin = models.FloatField(null=True)
    gm_pct = models.FloatField(null=True)
    cost_to_serve = models.FloatField(null=True)
    net_profit = models.FloatField(null=True)
    net_margin_pct = models.FloatField(null=True)
    share_of_wallet = models.FloatField(null=True)
    percentiles = models.JSONField(default=dict, help_text="factor -> percentile rank p")
    explanation = models.JSONField(default=dict)
    # The customer lists' default order within the run, stored with the run so that a page of it is an
    # index range: the dense rank of (segment in SEGMENT_ORDER, revenue descending, missing last); ties
    # share a rank and the lists break them by account number (`segments.services.score_writer`).
    list_rank = models.IntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "run", "customer"], name="score_one_per_customer_run")
        ]
        indexes = [
            models.Index(fields=["distributor", "run", "segment"], name="score_run_segment_idx"),
            models.Index(fields=["distributor", "run", "list_rank"], name="score_run_list_rank_idx"),
            models.Index(fields=["distributor", "customer"], name="score_customer_idx"),
        ]


# What a run keeps per customer: the ranked figures (also the columns of `export_scores` and the
# scores API), then the percentiles and the explanation. The score writer sends them in this order.
RANKED_FIELDS = ("segment", "previous_segment", "value_score", "profit_score", "value_rank", "profit_rank", *FACTORS)
SCORE_FIELDS = (*RANKED_FIELDS, "percentiles", "explanation")
SCORE_FLOAT_FIELDS = RANKED_FIELDS[2:]


class TierPolicy(TenantOwnedModel):
    """What a segment's customers get, under a customer-facing tier name, and what reps do with them."""

    class Coverage(models.TextChoices):
        DEDICATED_REP = "dedicated_rep", "Dedicated rep"
        INSIDE_SALES = "inside_sales", "Inside sales"
        WEB_AND_COUNTER = "web_and_counter", "Web and counter"

    segment = models.CharField(max_length=20, choices=SEGMENT_CHOICES[:4])
    tier_name = models.CharField(max_length=100, help_text="What customers see, e.g. Gold")
    rank = models.PositiveSmallIntegerField(default=0, help_text="Tier order for customers: 1 is the top tier")
    description = models.TextField(blank=True)
    sales_coverage = models.CharField(max_length=20, choices=Coverage.choices, default=Coverage.WEB_AND_COUNTER)
    free_shipping_threshold = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    discount_pct = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    special_orders_allowed = models.BooleanField(default=False)
    payment_terms_days = models.PositiveIntegerField(default=30)
    target_revenue_12m = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    target_orders_12m = models.PositiveIntegerField(null=True, blank=True)
    target_categories = models.PositiveIntegerField(null=True, blank=True)
    target_days_to_pay = models.PositiveIntegerField(null=True, blank=True)
    target_avg_order_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    target_returns_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    target_self_service_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # The ladder: the segment whose tier this segment's customers work towards (empty: they keep
    # their tier, the top). Rules in `segments.policies.validate_ladder`.
    works_towards = models.CharField(max_length=20, choices=SEGMENT_CHOICES[:4], blank=True)
    playbook = models.TextField(blank=True, help_text="Internal: what reps should do with this segment")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "segment"], name="tierpolicy_one_per_segment")]
        ordering = ["rank"]


class TierPolicyChange(TenantOwnedModel):
    policy = models.ForeignKey(TierPolicy, on_delete=models.CASCADE, related_name="changes", db_index=False)
    changed_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["distributor", "policy", "-changed_at"], name="tierchange_policy_idx")]
        ordering = ["-changed_at", "-id"]


class TierNotice(TenantOwnedModel):
    """An e-mail telling a customer user their new tier after a published run: every message sent
    is kept (to whom, what, when, by whom)."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(StratificationRun, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("sales.Customer", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    tier_name = models.CharField(max_length=100)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    sent_at = models.DateTimeField(auto_now_add=True)
    sent_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["distributor", "run", "customer"], name="tiernotice_run_idx")]
        ordering = ["-sent_at", "-id"]


class ProfitCenter(TenantOwnedModel):
    """One value of one dimension in one run (docs PROFIT_CENTERS.md): section 3's figures, written by
    the run in its own transaction and immutable like the scores. `by` is empty for a dimension's
    values; `by="segment"` rows are the dimension x segment cells, `by=<dimension>` the cells of a
    two-dimension matrix (e.g. branch x category). Money is rounded half-even to the cent from the
    exact sums; `exact` keeps those sums as fractions ("p/q") so that totals re-add exactly."""

    id = models.BigAutoField(primary_key=True)
    distributor = models.ForeignKey(
        "accounts.Distributor", on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    run = models.ForeignKey(
        StratificationRun, on_delete=models.CASCADE, related_name="profit_centers", db_index=False, db_constraint=False
    )
    dimension = models.CharField(max_length=30)
    by = models.CharField(max_length=30, blank=True)
    value = models.CharField(max_length=255)
    by_value = models.CharField(max_length=255, blank=True)
    position = models.IntegerField(help_text="Order by net profit, highest first (1 = highest)")
    customers = models.IntegerField()
    lines = models.IntegerField()
    revenue = models.DecimalField(max_digits=20, decimal_places=2)
    gross_margin = models.DecimalField(max_digits=20, decimal_places=2)
    cost_to_serve = models.DecimalField(max_digits=20, decimal_places=2)
    net_profit = models.DecimalField(max_digits=20, decimal_places=2)
    net_margin_pct = models.FloatField(null=True)
    net_profit_share = models.FloatField(null=True)
    segment_net_profit = models.JSONField(default=dict, help_text="segment -> net profit, to the cent")
    exact = models.JSONField(default=dict, help_text="money figure -> exact fraction 'p/q'")
    cost_parts = models.JSONField(default=dict, help_text="cost-to-serve by share (lines, orders, ...), to the cent")

    class Meta:
        indexes = [
            models.Index(fields=["distributor", "run", "dimension", "by", "position"], name="profitcenter_run_idx")
        ]


class ProfitCurve(TenantOwnedModel):
    """A dimension's whale curve in one run (docs PROFIT_CENTERS.md section 4), computed with its
    profit centers so that the page reads one row instead of every value (25,000 products): how many
    values, centers and drains, the peak and where it is, the total, what the drains give away (money
    rounded half-even to the cent from the exact sums), and the curve itself at no more than
    `segments.profit_centers.CURVE_POINTS` points, the peak and the last value always among them."""

    distributor = models.ForeignKey(
        "accounts.Distributor", on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    run = models.ForeignKey(
        StratificationRun, on_delete=models.CASCADE, related_name="profit_curves", db_index=False, db_constraint=False
    )
    dimension = models.CharField(max_length=30)
    values = models.IntegerField()
    centers = models.IntegerField()
    drains = models.IntegerField()
    peak = models.DecimalField(max_digits=20, decimal_places=2)
    peak_at = models.IntegerField(help_text="How many values, highest first, reach the peak")
    total = models.DecimalField(max_digits=20, decimal_places=2)
    given_away = models.DecimalField(max_digits=20, decimal_places=2)
    points = models.JSONField(default=list, help_text="[position, value, cumulative net profit to the cent]")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "run", "dimension"], name="profitcurve_run_dimension")
        ]
