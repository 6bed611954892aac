"""What the run-exporting commands share: the tenant by its slug and a run by its number or `latest`
(the published one), with a clear CommandError for each thing that is missing."""

from django.core.management.base import CommandError
from django_scopes import scope

from accounts.models import Distributor
from segments import selectors
from segments.models import StratificationRun


def tenant_and_finished_run(slug: str, run: str) -> tuple[Distributor, StratificationRun]:
    distributor = Distributor.objects.filter(slug=slug).first()
    if distributor is None:
        raise CommandError(f"No distributor {slug!r}.")
    with scope(distributor=distributor):
        if run == "latest":
            chosen = selectors.current_run(distributor)
            if chosen is None:
                raise CommandError("No published run yet.")
        else:
            try:
                chosen = selectors.run_get(distributor=distributor, number=int(run))
            except (ValueError, StratificationRun.DoesNotExist):
                raise CommandError(f"No run {run!r} for {slug}.")
        if chosen.status != StratificationRun.Status.SUCCEEDED:
            raise CommandError(f"Run #{chosen.number} has no results ({chosen.status}).")
    return distributor, chosen
