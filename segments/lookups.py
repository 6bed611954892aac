"""The objects of segments that URLs name (see stratify.tenancy.lookups)."""

from stratify.tenancy.lookups import ObjectLookup

from .selectors import policy_get, run_get

RUN = ObjectLookup(
    kwarg="run_id",
    attr="run",
    find=lambda *, distributor, membership, key: run_get(distributor=distributor, number=int(key)),
    not_found="No such run.",
)
TIER_POLICY = ObjectLookup(
    kwarg="segment",
    attr="policy",
    find=lambda *, distributor, membership, key: policy_get(distributor=distributor, segment=key),
    not_found="No such tier.",
)
