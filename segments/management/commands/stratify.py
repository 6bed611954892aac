"""`manage.py stratify SLUG [--publish] [--as-of DATE] [--setting KEY=JSON ...]`: run a stratification in
the foreground (no worker needed), printing progress and the count per segment; exit 1 on failure. The
jobs a succeeded run queues for the workers (its profit centers and cut tables, and when published its
alerts) run here too, after it, so everything the run feeds is ready when the command ends."""

import json
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from accounts.models import Distributor
from segments.services import follow_ups_execute, run_request
from segments.services.profit import PROFIT_JOB_KIND
from segments.vocabulary import SEGMENT_ORDER
from stratify.formatting import format_date, format_money
from stratify.jobs.models import Job
from stratify.jobs.registry import CUT_TABLES_JOB_KIND, RAISE_ALERTS_JOB_KIND
from stratify.jobs.services import job_execute


class Command(BaseCommand):
    help = "Stratify a distributor's customers now, in this process."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--publish", action="store_true", help="Publish the run when it succeeds")
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: last invoice)")
        parser.add_argument(
            "--setting", action="append", default=[], metavar="KEY=JSON", help="What-if override, e.g. window_days=180"
        )

    def handle(self, slug, publish, as_of, setting, **options):
        distributor = Distributor.objects.filter(slug=slug).first()
        if distributor is None:
            raise CommandError(f"No distributor {slug!r}.")
        overrides = {}
        for item in setting:
            key, _, value = item.partition("=")
            try:
                overrides[key] = json.loads(value)
            except json.JSONDecodeError:
                overrides[key] = value
        with scope(distributor=distributor):
            try:
                run = run_request(
                    distributor=distributor, overrides=overrides, as_of=as_of, publish=publish, dispatch=False
                )
            except ValidationError as error:
                raise CommandError(f"Invalid settings: {error.message_dict}")
            self.stdout.write(f"Run #{run.number} (job #{run.job.number}) for {distributor.slug}")
            job = self._execute(run.job_id)
            run.refresh_from_db()
        if job is None or job.status != Job.Status.SUCCEEDED:
            message = run.message or (job.message if job else "the job was not claimed")
            raise CommandError(f"Run #{run.number} failed: {message}")
        self.stdout.write(f"as of {format_date(run.as_of, distributor)}  ({run.timings.get('total_seconds', '?')} s)")
        for segment in SEGMENT_ORDER:
            totals = run.totals.get(segment, {})
            money = ""
            if "revenue" in totals:
                revenue = format_money(totals["revenue"], distributor, decimals=2)
                net_profit = format_money(totals["net_profit"], distributor, decimals=2)
                money = f"  revenue {revenue:>16}  net profit {net_profit:>16}"
            self.stdout.write(f"  {segment:<14} {totals.get('count', 0):>8}{money}")
        self.stdout.write(self.style.SUCCESS("Published." if run.published_at else "Not published (preview)."))
        with scope(distributor=distributor):
            kinds = (PROFIT_JOB_KIND, CUT_TABLES_JOB_KIND, RAISE_ALERTS_JOB_KIND)
            for job in follow_ups_execute(distributor=distributor, run=run, kinds=kinds):
                if job.status == Job.Status.SUCCEEDED:
                    self.stdout.write(f"{job.kind} (job #{job.number}): done")
                else:
                    self.stdout.write(self.style.WARNING(f"{job.kind} (job #{job.number}) failed: {job.message}"))

    def _execute(self, job_id):
        """job_execute with progress printed: the job's handler reports into the Job row, which a
        thin wrapper around the reporter echoes here."""
        from stratify.jobs import services as job_services

        command = self
        original = job_services.ProgressReporter

        class EchoingReporter(original):
            def __call__(self, percent, message=""):
                super().__call__(percent, message)
                command.stdout.write(f"[{int(percent):3d}%] {message}".rstrip())

        job_services.ProgressReporter = EchoingReporter
        try:
            return job_execute(job_id)
        finally:
            job_services.ProgressReporter = original
