"""Customer scorecard: the customer's own, staff "view as customer", nothing internal, API."""

import re

import pytest
from django.urls import reverse

from stratify.formatting import format_date
from tests.conftest import api_as

from .conftest import add_sales, login, make_run

pytestmark = pytest.mark.django_db

# Whole words (so "scorecard" is fine), any case, anywhere in the HTML (attributes included).
INTERNAL = re.compile(
    r"\b(core|service.drain|opportunistic|marginal|lapsed|segments?|cost.to.serve|scores?|ranks?|playbook|"
    r"gross.margin|net.profit)\b",
    re.IGNORECASE,
)


def scorecard(tenant):
    return reverse("scorecard", kwargs={"tenant": tenant.slug})


@pytest.fixture
def run(tenant_a):
    add_sales(tenant_a.distributor, tenant_a.assigned_customer, categories=("Pipe", "Valves"), months=4)
    return make_run(
        tenant_a.distributor,
        {tenant_a.assigned_customer: {"segment": "service_drain"}, tenant_a.unassigned_customer: {"segment": "core"}},
    )


def test_customer_sees_tier_benefits_and_progress_to_the_next_tier(tenant_a, run):
    response = login(tenant_a.customer_user).get(scorecard(tenant_a))
    assert response.status_code == 200
    card = response.context["card"]
    assert card["available"] and card["tier"]["name"] == "Gold" and card["next_tier"]["name"] == "Platinum"
    # 4 months x 2 categories x 1000 of purchases; 8 orders (one invoice per line); 2 categories.
    figures = card["figures"]
    assert (figures["purchases"], figures["orders"], figures["categories"], figures["days_to_pay"]) == (8000, 8, 2, 30)
    # Issue 12: a service-drain customer is shown Platinum's profit targets (not purchases or orders).
    targets = {row["metric"]: row for row in card["targets"]}
    assert list(targets) == ["average_order", "days_to_pay", "returns_pct"]
    assert targets["average_order"]["target"] == 450 and targets["average_order"]["pct"] == 100
    assert targets["days_to_pay"]["met"] is True and targets["days_to_pay"]["pct"] is None
    html = response.content.decode()
    assert "Gold" in html and "Your path to Platinum" in html and 'role="progressbar"' in html
    assert "window.print()" in html


def test_scorecard_shows_nothing_internal(tenant_a, run):
    html = login(tenant_a.customer_user).get(scorecard(tenant_a)).content.decode()
    assert INTERNAL.findall(html) == []
    assert tenant_a.unassigned_customer.customer_id not in html
    assert tenant_a.unassigned_customer.name not in html


def test_not_yet_available_without_a_published_run(tenant_a):
    response = login(tenant_a.customer_user).get(scorecard(tenant_a))
    assert response.status_code == 200
    assert response.context["card"]["available"] is False
    assert "not yet available" in response.content.decode()


def test_top_tier_customer_sees_the_bar_to_stay(tenant_a):
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}})
    card = login(tenant_a.customer_user).get(scorecard(tenant_a)).context["card"]
    assert card["at_top_tier"] and card["next_tier"] is None and card["tier"]["name"] == "Platinum"


def test_staff_view_as_customer(tenant_a, run):
    url = reverse("customer-scorecard", kwargs={"tenant": tenant_a.slug, "customer_id": "alpha-C1"})
    for user in (tenant_a.manager, tenant_a.rep_user):
        response = login(user).get(url)
        assert response.status_code == 200
        assert response.context["card"]["tier"]["name"] == "Gold"
        assert "viewing this scorecard as the customer sees it" in response.content.decode()
    # Staff on /scorecard/ are sent to the customer list.
    assert login(tenant_a.rep_user).get(scorecard(tenant_a)).status_code == 302


def test_customer_cannot_reach_staff_pages(tenant_a, tenant_b, run):
    client = login(tenant_a.customer_user)
    slug = tenant_a.slug
    for name, kwargs in [
        ("dashboard", {}),
        ("my-customers", {}),
        ("model-settings", {}),
        ("tier-policies", {}),
        ("rep-assignment", {}),
        ("customer-scorecard", {"customer_id": tenant_a.assigned_customer.customer_id}),
        ("customer-detail", {"customer_id": tenant_a.assigned_customer.customer_id}),
    ]:
        assert client.get(reverse(name, kwargs={"tenant": slug, **kwargs})).status_code in (403, 404), name
    assert client.get(scorecard(tenant_b)).status_code == 404


def test_scorecard_api_for_customer_and_staff(tenant_a, tenant_b, run):
    base = f"/api/v1/tenants/{tenant_a.slug}"
    data = api_as(tenant_a.customer_user).get(f"{base}/scorecard/").json()
    assert data["available"] and data["tier"]["name"] == "Gold"
    assert "segment" not in str(data).lower() and "cost_to_serve" not in str(data)
    assert api_as(tenant_a.rep_user).get(f"{base}/scorecard/").status_code == 404
    staff = api_as(tenant_a.rep_user).get(f"{base}/customers/alpha-C1/scorecard/")
    assert staff.status_code == 200 and staff.json()["tier"]["name"] == "Gold"
    assert api_as(tenant_a.rep_user).get(f"{base}/customers/alpha-C2/scorecard/").status_code == 404
    assert api_as(tenant_a.customer_user).get(f"{base}/customers/alpha-C1/scorecard/").status_code == 403
    assert api_as(tenant_b.manager).get(f"{base}/customers/alpha-C1/scorecard/").status_code == 404
    assert (
        api_as(tenant_a.manager).get(f"/api/v1/tenants/{tenant_a.slug}/customers/bravo-C1/scorecard/").status_code
        == 404
    )


def test_scorecard_api_not_yet_available(tenant_a):
    data = api_as(tenant_a.customer_user).get(f"/api/v1/tenants/{tenant_a.slug}/scorecard/").json()
    assert data["available"] is False


def test_a_customer_not_in_the_run_is_told_why_not_to_wait(tenant_a):
    """Not in the published run (no purchase in its window or the one before: a lapsed customer is
    in it, with its tier): the page says there were no purchases, and that the scorecard returns with
    the next order (never "check back soon", which would never change)."""
    scores = {tenant_a.unassigned_customer: {"segment": "core"}}
    run = make_run(tenant_a.distributor, scores)
    response = login(tenant_a.customer_user).get(scorecard(tenant_a))
    html = response.content.decode()
    assert response.context["card"]["reason"] == "no_recent_purchases"
    assert "We have no purchases from your account in the 365 days to" in html and "after your next order" in html
    assert format_date(run.as_of, tenant_a.distributor) in html
    assert "not yet available" not in html and "lapsed" not in html.lower()
