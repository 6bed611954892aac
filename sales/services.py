"""Writes of the sales records made from pages (imports write through `imports`)."""

from django.db import transaction

from .selectors import customer_list


def customers_assign_rep(*, distributor, customer_ids: list[str], rep) -> int:
    """Give the customers named by their ERP ids to `rep` (None: unassigned). Only this tenant's
    customers can match: the filter names the distributor. Returns how many were assigned."""
    with transaction.atomic():
        return customer_list(distributor=distributor).filter(customer_id__in=customer_ids).update(rep=rep)
