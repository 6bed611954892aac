"""`manage.py export_alerts SLUG FILE.csv [--status open]`: one row per alert with the columns
`kind, severity, subject_type, subject, customer_id, amount, status, message` (biggest money at stake
first). `subject` is the customer's account number for per-customer kinds, else the category, brand,
supplier, product, branch, class or rep the alert is about; `customer_id` is empty for
distributor-wide kinds; `amount` has two decimals."""

import csv

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from accounts.models import Distributor
from alerts.models import Status
from alerts.selectors import EXPORT_COLUMNS, alert_list, export_record
from stratify.exports import escape_formula


class Command(BaseCommand):
    help = "Export a distributor's alerts to CSV."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("path")
        parser.add_argument("--status", choices=[s.value for s in Status], default=None)

    def handle(self, slug, path, status, **options):
        distributor = Distributor.objects.filter(slug=slug).first()
        if distributor is None:
            raise CommandError(f"No distributor {slug!r}.")
        with scope(distributor=distributor):
            rows = alert_list(distributor=distributor, filters={"status": status} if status else {})
            count = 0
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(EXPORT_COLUMNS)
                for alert in rows.select_related("customer").iterator(chunk_size=5000):
                    record = export_record(alert)
                    writer.writerow(
                        [escape_formula(record[c]) if isinstance(record[c], str) else record[c] for c in EXPORT_COLUMNS]
                    )
                    count += 1
        self.stdout.write(f"{count} alerts written to {path}")
