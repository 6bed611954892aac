"""`manage.py raise_alerts SLUG [RUN_ID|latest]`: the alert job of a published run (default: the
published one), run in the foreground (no worker needed); prints the counts per kind. Running it
again for the same run changes nothing."""

from django.core.management.base import BaseCommand, CommandError

from alerts.models import KINDS
from segments.management.run_choice import tenant_and_finished_run
from stratify.jobs.models import Job
from stratify.jobs.registry import RAISE_ALERTS_JOB_KIND
from stratify.jobs.services import job_run_here


class Command(BaseCommand):
    help = "Raise the alerts of a published run in the foreground and print the counts per kind."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("run", nargs="?", default="latest", help="a run id, or 'latest' (the published run)")

    def handle(self, slug, run, **options):
        distributor, chosen = tenant_and_finished_run(slug, run)
        if chosen.published_at is None:
            raise CommandError(f"Run #{chosen.number} is not published: alerts are raised for published runs.")
        job = job_run_here(distributor=distributor, kind=RAISE_ALERTS_JOB_KIND, params={"run": chosen.number})
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"The alert job failed: {job.message}")
        result = job.result or {}
        counts = result.get("counts", {})
        if result.get("already"):
            self.stdout.write(f"Run #{chosen.number}: alerts already raised (nothing changed).")
        elif result.get("skipped"):
            self.stdout.write(f"Run #{chosen.number}: skipped ({result['skipped']}).")
        for kind in KINDS:
            self.stdout.write(f"{kind}: {counts.get(kind, 0)}")
        self.stdout.write(f"total: {sum(counts.values())}")
        if not result.get("already") and not result.get("skipped"):
            self.stdout.write(
                "new {new}, kept open {kept}, reopened {reopened}, quiet (dismissed) {quiet}, closed {cleared}".format(
                    **{k: result.get(k, 0) for k in ("new", "kept", "reopened", "quiet", "cleared")}
                )
            )
