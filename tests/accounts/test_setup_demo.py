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
