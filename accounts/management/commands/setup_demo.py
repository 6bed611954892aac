"""`make run`'s first step: a demo distributor with a manager, a rep and a customer login (idempotent)."""

import calendar
import os
from datetime import date

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db.models import Max
from django_scopes import scope

from accounts.models import Distributor
from accounts.services import tenant_create, user_create
from sales.models import Customer, InvoiceLine, Rep

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-2026"


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _data_end(distributor) -> date | None:
    with scope(distributor=distributor):
        return InvoiceLine.objects.filter(distributor=distributor).aggregate(end=Max("invoice_date"))["end"]


class Command(BaseCommand):
    help = "Create (once) the demo distributor with sample data and three logins, and print them."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=400)
        parser.add_argument("--lines", type=int, default=40000)

    def handle(self, *args, customers, lines, **options):
        distributor = Distributor.objects.filter(slug=DEMO_SLUG).first()
        if distributor is None:
            distributor = tenant_create(slug=DEMO_SLUG, name="Demo Industrial Supply")
            if "demo_data" in get_commands():
                call_command("demo_data", DEMO_SLUG, customers=customers, lines=lines, seed=7, stdout=self.stdout)
            if "stratify" in get_commands():
                # Two published runs, three months apart, so that movement, the migration matrix and
                # the trends show something on first login.
                end = _data_end(distributor)
                if end is not None:
                    earlier = months_before(end, 3)
                    call_command("stratify", DEMO_SLUG, publish=True, as_of=earlier, stdout=self.stdout)
                    if "raise_alerts" in get_commands():
                        call_command("raise_alerts", DEMO_SLUG, "latest", stdout=self.stdout)
                call_command("stratify", DEMO_SLUG, publish=True, stdout=self.stdout)
                if "raise_alerts" in get_commands():  # the alerts of the published run, without a worker
                    call_command("raise_alerts", DEMO_SLUG, "latest", stdout=self.stdout)
        with scope(distributor=distributor):
            rep = Rep.objects.filter(distributor=distributor).order_by("rep_id").first()
            customer = Customer.objects.filter(distributor=distributor)
            if rep is not None and customer.filter(rep=rep).exists():
                customer = customer.filter(rep=rep)
            customer = customer.order_by("customer_id").first()
        logins = [
            ("manager", "demo-manager", {}),
            ("rep", "demo-rep", {"rep_id": rep.rep_id if rep else "R001"}),
            ("customer", "demo-customer", {"customer_id": customer.customer_id if customer else "C00001"}),
        ]
        for role, username, link in logins:
            user_create(distributor=distributor, username=username, password=DEMO_PASSWORD, role=role, **link)
        login_url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/accounts/login/"
        self.stdout.write(self.style.SUCCESS(f"\nDemo distributor ready at {login_url}"))
        for role, username, _ in logins:
            self.stdout.write(f"  {role:<9} username {username:<14} password {DEMO_PASSWORD}")
