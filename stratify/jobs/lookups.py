"""Jobs as URLs name them (see stratify.tenancy.lookups)."""

from stratify.tenancy.lookups import ObjectLookup

from .selectors import job_get

JOB = ObjectLookup(
    kwarg="pk",
    attr="job",
    find=lambda *, distributor, membership, key: job_get(
        distributor=distributor, number=int(key), membership=membership
    ),
    not_found="No such job.",
)
