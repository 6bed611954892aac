"""`make run`'s demo: the command creates a distributor with data and three logins, twice safely, and
each login lands on its page."""

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from accounts.management.commands.setup_demo import DEMO_PASSWORD
from accounts.models import Distributor, Membership
from sales.models import Customer

pytestmark = pytest.mark.django_db


def test_setup_demo_creates_three_logins_that_land_on_their_pages(client):
    call_command("setup_demo", customers=40, lines=3000)
    call_command("setup_demo", customers=40, lines=3000)  # idempotent: `make run` calls it every time
    assert Distributor.objects.filter(slug="demo").count() == 1
    with scopes_disabled():
        assert Membership.objects.filter(distributor__slug="demo").count() == 3
        rep = Membership.objects.get(user__username="demo-rep")
        customer = Membership.objects.get(user__username="demo-customer")
        assert Customer.objects.filter(distributor__slug="demo").count() >= 40
        assert customer.customer.rep_id == rep.rep_id  # the demo rep sells to the demo customer
    for username, landing in [
        ("demo-manager", "/demo/dashboard/"),
        ("demo-rep", "/demo/customers/"),
        ("demo-customer", "/demo/scorecard/"),
    ]:
        client.logout()
        assert client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD}).status_code == 302
        page = client.get("/", follow=True)
        assert page.redirect_chain[-1][0] == landing and page.status_code == 200, username
    with scopes_disabled():
        assert customer.customer.customer_id in page.content.decode()  # the scorecard of the demo customer


def test_the_demo_has_two_published_runs_so_movement_shows(client):
    """Issue 11, item 10: runs as of three months before the data's end and as of its end, both
    published, so movement, migration and trends show something on first login."""
    from datetime import date

    from sales.models import InvoiceLine
    from segments.models import CustomerScore, StratificationProfile, StratificationRun

    call_command("setup_demo", customers=60, lines=6000)
    with scopes_disabled():
        demo = Distributor.objects.get(slug="demo")
        end = InvoiceLine.objects.filter(distributor=demo).order_by("-invoice_date").first().invoice_date
        runs = list(StratificationRun.objects.filter(distributor=demo, published_at__isnull=False).order_by("pk"))
        assert len(runs) == 2
        earlier, latest = runs
        months_before = (end.year * 12 + end.month) - (earlier.as_of.year * 12 + earlier.as_of.month)
        assert months_before == 3 and earlier.as_of <= date(end.year, end.month, 28)
        assert latest.as_of == end
        profile = StratificationProfile.objects.get(distributor=demo)
        assert (profile.current_run_id, profile.previous_run_id) == (latest.pk, earlier.pk)
        assert latest.compared_to_id == earlier.pk
        scores = CustomerScore.objects.filter(run=latest)
        moved = scores.exclude(previous_segment="").exclude(segment="lapsed")
        assert sum(1 for s in moved if s.segment != s.previous_segment) > 0  # some customers moved
    client.post("/accounts/login/", {"username": "demo-manager", "password": DEMO_PASSWORD})
    page = client.get("/demo/dashboard/")
    assert page.status_code == 200
