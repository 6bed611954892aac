"""The alerts URLs name (see stratify.tenancy.lookups): a rep asking for another rep's alert, or
anyone for another tenant's, finds nothing (404)."""

from stratify.tenancy.lookups import ObjectLookup

from .selectors import alert_get

ALERT = ObjectLookup(
    kwarg="alert_id",
    attr="alert",
    find=lambda *, distributor, membership, key: alert_get(distributor=distributor, membership=membership, pk=key),
    not_found="No such alert.",
)
