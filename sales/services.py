"""Writes of the sales records made from pages (imports write through `imports`)."""

from functools import partial

from django.core.cache import cache
from django.db import transaction

from .selectors import ASSIGNMENT_KEY, customer_list


def assignment_changed(distributor_id: int) -> None:
    """Customers of the tenant were added or re-assigned: drop its cached assignment stamp
    (`selectors.assignment_stamp`) now, and again once the change commits (a page that read the stamp
    in between must not keep it)."""
    key = ASSIGNMENT_KEY.format(int(distributor_id))
    cache.delete(key)
    transaction.on_commit(partial(cache.delete, key))


def customers_assign_rep(*, distributor, customer_ids: list[str], rep) -> int:
    """Give the customers named by their ERP ids to `rep` (None: unassigned). Only this tenant's
    customers can match: the filter names the distributor. Returns how many were assigned."""
    with transaction.atomic():
        assigned = customer_list(distributor=distributor).filter(customer_id__in=customer_ids).update(rep=rep)
        assignment_changed(distributor.pk)
        return assigned
