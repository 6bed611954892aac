"""`manage.py export_scores SLUG RUN_ID|latest FILE.csv`: one row per customer of the run (`latest`: the
published run), with its segment, scores, ranks and every factor of STRATIFICATION.md by name."""

import csv

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from accounts.models import Distributor
from segments import selectors
from segments.models import RANKED_FIELDS, StratificationRun
from stratify.exports import escape_formula

COLUMNS = ("customer_id", *RANKED_FIELDS)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return escape_formula(value)  # account numbers are text from the ERP: never let a cell run a formula


class Command(BaseCommand):
    help = "Export a run's customer scores to CSV."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("run", help="a run id, or 'latest' for the published run")
        parser.add_argument("path")

    def handle(self, slug, run, path, **options):
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
            rows = selectors.score_list(distributor=distributor, run=chosen).values_list(
                "customer__customer_id", *COLUMNS[1:]
            )
            count = 0
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                for row in rows.iterator(chunk_size=5000):
                    writer.writerow([_cell(v) for v in row])
                    count += 1
        self.stdout.write(f"{count} customers of run #{chosen.number} written to {path}")
