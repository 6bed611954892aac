"""Reads of customers, reps and products. The tenant is always an explicit argument; the membership
narrows what a rep (their assigned customers) or a customer user (their own account) may see."""

from django.db.models import QuerySet

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
