"""`manage.py cut_tables SLUG [RUN_ID|latest]`: write the cut tables of a finished run (default: the
published one) in the foreground, through its `cut_tables` job (no worker needed): for runs computed
before the tables existed, or after an import made them stale. Prints what was written."""

from django.core.management.base import BaseCommand, CommandError

from segments.management.run_choice import tenant_and_finished_run
from stratify.jobs.models import Job
from stratify.jobs.registry import CUT_TABLES_JOB_KIND
from stratify.jobs.services import job_run_here


class Command(BaseCommand):
    help = "Write the cut tables of a finished run in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("run", nargs="?", default="latest", help="a run id, or 'latest' (the published run)")

    def handle(self, slug, run, **options):
        distributor, chosen = tenant_and_finished_run(slug, run)
        job = job_run_here(distributor=distributor, kind=CUT_TABLES_JOB_KIND, params={"run": chosen.number})
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"The cut tables job failed: {job.message}")
        result = job.result or {}
        if result.get("already"):
            self.stdout.write(f"Run #{chosen.number}: cut tables already written and current (nothing changed).")
        else:
            self.stdout.write(
                f"Run #{chosen.number}: {result['pairs']:,} customer x supplier x brand sums, "
                f"{result['core_products']:,} core products in {result['seconds']:.1f} s."
            )
