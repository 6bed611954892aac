"""Item 9: the query count of each main page does not grow with the number of customers."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .conftest import add_sales, login, make_run, many_customers

pytestmark = pytest.mark.django_db

SEGMENTS = ["core", "service_drain", "opportunistic", "marginal", "lapsed"]

# page -> (role, URL name, URL kwargs, query string)
PAGES = {
    "dashboard": ("manager", "dashboard", {}, {}),
    "quadrant": ("manager", "dashboard-quadrant", {}, {}),
    "my-customers": ("rep", "my-customers", {}, {}),
    "my-customers-filtered": ("rep", "my-customers", {}, {"segment": "core", "movement": "up", "q": "a"}),
    "customer": ("rep", "customer-detail", {"customer_id": "alpha-C1"}, {}),
    "review": ("rep", "customer-review", {"customer_id": "alpha-C1"}, {}),
    "scorecard": ("customer", "scorecard", {}, {}),
    "view-as": ("rep", "customer-scorecard", {"customer_id": "alpha-C1"}, {}),
    "tiers": ("manager", "tier-policies", {}, {}),
    "assignment": ("manager", "rep-assignment", {}, {}),
    "model": ("manager", "model-settings", {}, {}),
    # Issue 18 item 2: the manager's all-customers list and the pages of issues 15 and 16.
    "customers-manager": ("manager", "my-customers", {}, {}),
    "customers-manager-page-2": ("manager", "my-customers", {}, {"per_page": 10, "page": 2}),
    "worklist": ("rep", "worklist", {}, {}),
    "alerts": ("manager", "alert-list", {}, {}),
    "coaching": ("manager", "coaching", {}, {}),
    "coaching-rep": ("rep", "coaching", {}, {}),
    "rep-page": ("rep", "coaching-rep", {"rep_id": "alpha-R1"}, {}),
    "dashboard-sliced": ("manager", "dashboard", {}, {"slice_by": "rep", "slice": "alpha-R1"}),
    # (History reads one cached table per published run: its count follows the runs, which `populate`
    # adds too, not the customers.)
}


def populate(tenant, n: int, prefix: str):
    """n more customers of the rep, with sales, in two newly published runs."""
    customers = many_customers(tenant, n, prefix=prefix)
    for c in customers[:3]:
        add_sales(tenant.distributor, c, months=2)
    rows = {c: {"segment": SEGMENTS[i % 5], "previous_segment": SEGMENTS[(i + 1) % 5]} for i, c in enumerate(customers)}
    rows[tenant.assigned_customer] = {"segment": "core", "previous_segment": "marginal"}
    make_run(tenant.distributor, {c: {"segment": s["previous_segment"]} for c, s in rows.items()})
    make_run(tenant.distributor, rows)


def request(tenant, page):
    role, name, kwargs, query = PAGES[page]
    client = login(tenant.users()[role])
    path = reverse(name, kwargs={"tenant": tenant.slug, **kwargs})
    return lambda: client.get(path, query)


def measure(get) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = get()
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


@pytest.mark.parametrize("warm", [True, False], ids=["cached", "cold"])
@pytest.mark.parametrize("page", list(PAGES))
def test_query_count_is_the_same_at_5_and_50_customers(tenant_a, page, warm, django_assert_max_num_queries):
    add_sales(tenant_a.distributor, tenant_a.assigned_customer, months=2)
    populate(tenant_a, 5, "S")
    get = request(tenant_a, page)
    get()  # creates the default tier policies; fills the per-run caches
    if not warm:
        cache.clear()
    small = measure(get)
    populate(tenant_a, 50, "L")  # 55 more customers than the fixture's, in a newer run
    get()
    if not warm:
        cache.clear()
    with django_assert_max_num_queries(small):
        assert get().status_code == 200
    assert small <= 25, f"{page}: {small} queries"
