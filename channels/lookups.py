"""The objects of channels that URLs name (see stratify.tenancy.lookups)."""

from stratify.tenancy.lookups import ObjectLookup

from .selectors import partner_get

PARTNER = ObjectLookup(
    kwarg="partner_id",
    attr="partner",
    find=lambda *, distributor, membership, key: partner_get(distributor=distributor, partner_id=key),
    not_found="No such partner.",
)
