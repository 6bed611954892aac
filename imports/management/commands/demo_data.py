"""`demo_data SLUG --customers N --lines N --seed S`: load a generated distributor of any size."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from accounts.models import Distributor
from accounts.services import tenant_create
from imports.demo import DEFAULT_CHUNK, DemoDistributor, load_demo


class Command(BaseCommand):
    help = (
        "Create or refresh a demo distributor with realistic generated data (Pareto spend, reps, branches, "
        "returns, special orders, partners, three years of history). Same seed -> same data; idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--customers", type=int, default=400)
        parser.add_argument("--lines", type=int, default=40_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--name", default="", help="the distributor's name when it is created")
        parser.add_argument(
            "--end-date", type=date.fromisoformat, default=None, help="last day of history (default: yesterday)"
        )
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="invoice lines per write")

    def handle(self, *args, slug, customers, lines, seed, name, end_date, chunk_size, **options):
        if customers < 1 or lines < 0:
            raise CommandError("--customers must be at least 1 and --lines at least 0.")
        with scopes_disabled():
            distributor = Distributor.objects.filter(slug=slug).first()
        if distributor is None:
            distributor = tenant_create(slug=slug, name=name or f"{slug.replace('-', ' ').title()} Supply")
        demo = DemoDistributor(customers=customers, lines=lines, seed=seed, end_date=end_date, chunk_size=chunk_size)
        self.stdout.write(
            f"Generating {distributor.slug}: {customers:,} customers, {lines:,} invoice lines, seed {seed}, "
            f"history {demo.start_date} .. {demo.end_date}"
        )
        summary = load_demo(distributor=distributor, demo=demo, log=lambda m: self.stdout.write("  " + m))
        for kind, counts in summary.items():
            self.stdout.write(f"  {kind}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded into {distributor.slug}."))
