"""Partners in the supply chain and the log of customer interaction points."""

from django.conf import settings
from django.db import models

from stratify.tenancy.models import TenantOwnedModel

# Free text (an interaction's summary and usage notes, what a partner does): bounded, so one value cannot
# swell a customer page or an API answer. TextField's max_length is checked by forms and serializers (the
# import checks the same number, imports/formats.py), not by the database.
TEXT_MAX_CHARS = 4000


class Partner(TenantOwnedModel):
    class Kind(models.TextChoices):
        SUPPLIER = "supplier", "Supplier"
        MANUFACTURER = "manufacturer", "Manufacturer"
        RESELLER = "reseller", "Reseller"
        DEALER = "dealer", "Dealer"
        INSTALLER = "installer", "Installer"
        LOGISTICS = "logistics", "Logistics"
        SERVICE = "service", "Service"
        OTHER = "other", "Other"

    partner_id = models.CharField(max_length=100)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    region = models.CharField(max_length=100, blank=True)
    supports_customer = models.TextField(blank=True, max_length=TEXT_MAX_CHARS)
    services = models.TextField(blank=True, max_length=TEXT_MAX_CHARS)
    why_customers_use_it = models.TextField(blank=True, max_length=TEXT_MAX_CHARS)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "partner_id"], name="partner_natural_key")]
        ordering = ["partner_id"]

    def __str__(self) -> str:
        return self.name or self.partner_id


class Interaction(TenantOwnedModel):
    """A customer interaction point: a call, a visit, a quote, a complaint..."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        VISIT = "visit", "Visit"
        EMAIL = "email", "E-mail"
        QUOTE = "quote", "Quote"
        WEB = "web", "Web"
        SERVICE = "service", "Service"
        COMPLAINT = "complaint", "Complaint"
        DELIVERY = "delivery", "Delivery"
        OTHER = "other", "Other"

    customer = models.ForeignKey(
        "sales.Customer", on_delete=models.CASCADE, related_name="interactions", db_index=False
    )
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    rep = models.ForeignKey("sales.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=100, blank=True)
    summary = models.TextField(blank=True, max_length=TEXT_MAX_CHARS)
    usage_notes = models.TextField(blank=True, max_length=TEXT_MAX_CHARS)
    opportunity = models.BooleanField(default=False)
    # Imported rows have no id of their own: the key is a digest of the row, so re-imports are idempotent.
    natural_key = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["distributor", "natural_key"], name="interaction_natural_key")]
        indexes = [models.Index(fields=["distributor", "customer", "-date"], name="interaction_customer_idx")]
        ordering = ["-date", "-id"]
