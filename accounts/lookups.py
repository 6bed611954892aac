"""The objects of accounts that tenant URLs name (see stratify.tenancy.lookups)."""

from stratify.tenancy.lookups import ObjectLookup

from .models import Membership

MEMBER = ObjectLookup(
    kwarg="pk",
    attr="member",
    find=lambda *, distributor, membership, key: Membership.objects.select_related("user", "rep", "customer").get(
        distributor=distributor, pk=key
    ),
    not_found="No such member.",
)
