"""The objects of operations that URLs name (see stratify.tenancy.lookups)."""

from stratify.tenancy.lookups import ObjectLookup

from .models import CutScenario

SCENARIO = ObjectLookup(
    kwarg="scenario_id",
    attr="scenario",
    find=lambda *, distributor, membership, key: CutScenario.objects.get(distributor=distributor, pk=int(key)),
    not_found="No such scenario.",
)
