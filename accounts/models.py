"""Tenants (distributors), users and their memberships (a role in one distributor)."""

import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from stratify.formatting import is_valid_locale
from stratify.tenancy.models import TenantOwnedModel
from stratify.tenancy.permissions import Role


def validate_locale(value: str) -> None:
    if not is_valid_locale(value):
        raise ValidationError(f"{value!r} is not a locale (e.g. en_US, en_GB, de_DE).")


def validate_currency(value: str) -> None:
    from babel.numbers import list_currencies

    if value not in list_currencies():
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code (e.g. USD, EUR).")


class Distributor(models.Model):
    """The tenant: one wholesale distributor sharing the installation with others."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    # How pages, exports and e-mails write its money and dates (stratify.formatting).
    locale = models.CharField(max_length=20, default="en_US", validators=[validate_locale])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person. What they may see depends on their membership in the distributor of the URL."""


class Membership(TenantOwnedModel):
    """A user's role in one distributor. A rep is linked to the rep code used in invoice data; a
    customer user to one customer account."""

    ROLE_CHOICES = [(Role.MANAGER, "Manager"), (Role.REP, "Sales rep"), (Role.CUSTOMER, "Customer")]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ROLE_CHOICES)
    rep = models.ForeignKey("sales.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey("sales.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "user"], name="membership_one_per_tenant"),
        ]
        indexes = [models.Index(fields=["user"], name="membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    def clean(self):
        if self.role == Role.REP and self.rep_id is None:
            raise ValidationError({"rep": "A sales rep must be linked to a rep code."})
        if self.role == Role.CUSTOMER and self.customer_id is None:
            raise ValidationError({"customer": "A customer user must be linked to a customer account."})


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=14)


class Invitation(TenantOwnedModel):
    """A manager invites a person by e-mail to a role; accepting creates (or links) the user."""

    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.ROLE_CHOICES)
    rep = models.ForeignKey("sales.Rep", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("sales.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["distributor", "-created_at"], name="invitation_tenant_idx")]

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()
