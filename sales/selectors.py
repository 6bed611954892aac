"""Reads of customers, reps and products. The tenant is always an explicit argument; the membership
narrows what a rep (their assigned customers) or a customer user (their own account) may see."""

from django.core.cache import cache
from django.db.models import BigIntegerField, Count, F, QuerySet, Sum
from django.db.models.functions import Cast, Coalesce

from stratify.tenancy.permissions import Role

from .models import Customer, Product, Rep


def customer_list(*, distributor, membership=None) -> QuerySet[Customer]:
    customers = Customer.objects.filter(distributor=distributor)
    if membership is None or membership.role == Role.MANAGER:
        return customers
    if membership.role == Role.REP:
        return customers.filter(rep_id=membership.rep_id) if membership.rep_id else customers.none()
    return customers.filter(pk=membership.customer_id) if membership.customer_id else customers.none()


def customer_get(*, distributor, membership, customer_id: str) -> Customer:
    """By the ERP account number; raises Customer.DoesNotExist for another tenant's customer and for
    one the caller may not see alike."""
    return customer_list(distributor=distributor, membership=membership).get(customer_id=customer_id)


def rep_list(*, distributor) -> QuerySet[Rep]:
    return Rep.objects.filter(distributor=distributor)


def product_list(*, distributor) -> QuerySet[Product]:
    return Product.objects.filter(distributor=distributor)


ASSIGNMENT_KEY = "stratify:assignment:{}"
ASSIGNMENT_SECONDS = 5


def assignment_stamp(distributor) -> str:
    """A fingerprint of the tenant's customers and their reps (one aggregate over the tenant's customers,
    in 64-bit integers): changes when a customer is added, removed or re-assigned. Pages key what they
    cache of the customers' assignment by it.

    The aggregate is read at most once per ASSIGNMENT_SECONDS per tenant (through the cache: shared by
    every process with Redis). The writes that add or re-assign customers drop it (`assignment_changed`:
    the rep assignment page, an import's merge, a customer saved through the ORM), so their changes show
    at once; a write outside them shows within ASSIGNMENT_SECONDS."""
    key = ASSIGNMENT_KEY.format(int(distributor.pk))
    stamp = cache.get(key)
    if stamp is None:
        weighted = Cast(F("id"), BigIntegerField()) * Cast(Coalesce(F("rep_id"), 0), BigIntegerField())
        agg = Customer.objects.filter(distributor=distributor).aggregate(
            n=Count("id"), s=Coalesce(Sum(weighted), 0), r=Coalesce(Sum("rep_id"), 0)
        )
        stamp = f"{agg['n']}-{agg['s']}-{agg['r']}"
        cache.set(key, stamp, ASSIGNMENT_SECONDS)
    return stamp
