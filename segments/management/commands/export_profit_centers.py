"""`manage.py export_profit_centers SLUG RUN_ID|latest --dimension DIM FILE.csv`: one row per value of
the dimension in the run (`latest`: the published run), by net profit, highest first, with the columns
of PROFIT_CENTERS.md section 3 (`segments.profit_centers.EXPORT_COLUMNS`): money rounded half-even to
the cent, ratios as fractions of 1, an empty value written `(none)`. When the run's profit centers are
not computed yet (their job is still queued: no worker ran it), they are computed here first."""

import csv

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from segments import selectors, services
from segments.management.run_choice import tenant_and_finished_run
from segments.profit_centers import DEFAULT_DIMENSION, EXPORT_COLUMNS, export_record, unknown_dimension
from stratify.exports import escape_formula


class Command(BaseCommand):
    help = "Export a run's profit centers of one dimension to CSV."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("run", help="a run id, or 'latest' for the published run")
        parser.add_argument("path")
        parser.add_argument("--dimension", default=DEFAULT_DIMENSION)

    def handle(self, slug, run, path, dimension, **options):
        problem = unknown_dimension(dimension)
        if problem:
            raise CommandError(problem)
        distributor, chosen = tenant_and_finished_run(slug, run)
        with scope(distributor=distributor):
            job = services.profit_centers_ensure(distributor=distributor, run=chosen)
            if job is not None and job.status != job.Status.SUCCEEDED:
                raise CommandError(f"The profit centers of run #{chosen.number} could not be computed: {job.message}")
            rows = selectors.profit_center_list(distributor=distributor, run=chosen, dimension=dimension)
            count = 0
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(EXPORT_COLUMNS)
                for row in rows.iterator(chunk_size=5000):
                    record = export_record(row)
                    record["value"] = escape_formula(record["value"])
                    writer.writerow([record[c] for c in EXPORT_COLUMNS])
                    count += 1
        self.stdout.write(f"{count} values of {dimension} in run #{chosen.number} written to {path}")
