"""`import_data SLUG KIND FILE [--mapping JSON] [--date-format FMT]`: import a file in the foreground
(no worker needed), print the summary or the errors, exit non-zero on failure."""

import json

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from accounts.models import Distributor
from imports.formats import KINDS
from imports.services import import_errors, import_run_now, import_start

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = "Import a CSV or XLSX file for a distributor (runs in the foreground)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the distributor's slug")
        parser.add_argument("kind", help=f"one of: {', '.join(KINDS)}")
        parser.add_argument("file", help="path of the CSV or XLSX file")
        parser.add_argument(
            "--mapping", default=None, help='JSON {canonical: file column}, e.g. {"cost": "Sales - Profit"}'
        )
        parser.add_argument("--date-format", default=None, help="strptime format of the dates, e.g. %%m/%%d/%%Y")
        parser.add_argument(
            "--restratify", action="store_true", help="after a successful import of invoice lines, stratify and publish"
        )

    def handle(self, *args, slug, kind, file, mapping, date_format, restratify, **options):
        distributor = Distributor.objects.filter(slug=slug).first()
        if distributor is None:
            raise CommandError(f"No distributor with slug {slug!r}.")
        try:
            parsed = json.loads(mapping) if mapping else None
        except json.JSONDecodeError as error:
            raise CommandError(f"--mapping is not valid JSON: {error}")
        try:
            job = import_start(
                distributor=distributor,
                actor=None,
                kind=kind,
                path=file,
                mapping=parsed,
                date_format=date_format,
                dispatch=False,
            )
        except ValidationError as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()))
        job = import_run_now(job)
        with scope(distributor=distributor):
            if job.status == job.Status.SUCCEEDED:
                result = job.result
                self.stdout.write(self.style.SUCCESS(job.message))
                for what in ("created", "updated", "unchanged"):
                    counts = ", ".join(f"{entity}={n}" for entity, n in result.get(what, {}).items())
                    self.stdout.write(f"  {what}: {counts or '-'}")
                self.stdout.write(f"  {result['rows']:,} rows in {result['seconds']:.1f} s (job #{job.number})")
                if restratify and kind == "invoice_lines":
                    call_command("stratify", slug, publish=True, stdout=self.stdout)
                return
            errors, count = import_errors(job)
            for error in errors[:SHOWN_ERRORS]:
                where = f"row {error['row']}" if error.get("row") is not None else "file"
                value = f" {error['value']!r}" if error.get("value") else ""
                self.stderr.write(f"  {where}, {error.get('column') or '-'}:{value} {error['reason']}")
            if count > SHOWN_ERRORS:
                self.stderr.write(f"  … and {count - SHOWN_ERRORS:,} more")
            raise CommandError(job.message or "The import failed.")
