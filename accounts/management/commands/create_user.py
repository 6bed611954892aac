from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Distributor
from accounts.services import user_create


class Command(BaseCommand):
    help = "Create a user (or reuse an existing one) and give them a role in a distributor."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="distributor slug")
        parser.add_argument("--role", required=True, choices=["manager", "rep", "customer"])
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--rep-id", help="the rep code used in invoice data (role rep)")
        parser.add_argument("--customer-id", help="the customer account number (role customer)")

    def handle(self, *args, **o):
        distributor = Distributor.objects.filter(slug=o["tenant"]).first()
        if distributor is None:
            raise CommandError(f"No distributor with slug {o['tenant']!r}.")
        try:
            user = user_create(
                distributor=distributor,
                username=o["username"],
                password=o["password"],
                role=o["role"],
                email=o["email"],
                rep_id=o["rep_id"],
                customer_id=o["customer_id"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        self.stdout.write(self.style.SUCCESS(f"{user.username} is {o['role']} of {distributor.slug}."))
