from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import tenant_create


class Command(BaseCommand):
    help = "Create a distributor (tenant)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="USD", help="ISO 4217 code, e.g. USD, EUR")
        parser.add_argument("--locale", default="en_US", help="how money and dates are written, e.g. en_US, de_DE")

    def handle(self, slug, name, currency, locale, **options):
        try:
            distributor = tenant_create(slug=slug, name=name, currency=currency, locale=locale)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        self.stdout.write(self.style.SUCCESS(f"Created distributor {distributor.name} ({distributor.slug})."))
