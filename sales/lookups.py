"""The objects of sales that URLs name (see stratify.tenancy.lookups)."""

from stratify.tenancy.lookups import ObjectLookup

from .selectors import customer_get

CUSTOMER = ObjectLookup(
    kwarg="customer_id",
    attr="customer",
    find=lambda *, distributor, membership, key: customer_get(
        distributor=distributor, membership=membership, customer_id=key
    ),
    not_found="No such customer.",
)
