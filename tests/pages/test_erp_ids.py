"""Issue 10, item 5: ERP ids containing "/" (and other characters the data format accepts) are
reachable everywhere: pages, API, exports, and the run page that links them."""

import csv
import io

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from tests import factories as f
from tests.conftest import api_as

from .conftest import add_sales, login, make_run

pytestmark = pytest.mark.django_db

ODD_IDS = ["ACME/01", "a/b/review", "7 % off & co?", "ünï/ç"]


@pytest.fixture
def odd_customers(tenant_a):
    with scopes_disabled():
        customers = [
            f.CustomerFactory(distributor=tenant_a.distributor, rep=tenant_a.rep, customer_id=cid) for cid in ODD_IDS
        ]
    for customer in customers:
        add_sales(tenant_a.distributor, customer)
    first = make_run(tenant_a.distributor, {c: {"segment": "marginal"} for c in customers})
    make_run(tenant_a.distributor, {c: {"segment": "core", "previous_segment": "marginal"} for c in customers})
    return customers, first


def test_every_page_of_a_customer_with_a_slash_answers(tenant_a, odd_customers):
    customers, first_run = odd_customers
    for client in (login(tenant_a.manager), login(tenant_a.rep_user)):
        for customer in customers:
            kwargs = {"tenant": tenant_a.slug, "customer_id": customer.customer_id}
            for name in ("customer-detail", "customer-review", "customer-scorecard"):
                response = client.get(reverse(name, kwargs=kwargs))
                assert response.status_code == 200, (name, customer.customer_id)
                assert response.context["customer"].pk == customer.pk
    manager = login(tenant_a.manager)
    listing = manager.get(reverse("my-customers", kwargs={"tenant": tenant_a.slug})).content.decode()
    assigned = manager.get(reverse("rep-assignment", kwargs={"tenant": tenant_a.slug}))
    run_page = manager.get(reverse("run-detail", kwargs={"tenant": tenant_a.slug, "run_id": first_run.number}))
    assert assigned.status_code == 200 and run_page.status_code == 200
    for customer in customers:
        assert customer.customer_id.replace("&", "&amp;") in listing
    export = manager.get(reverse("my-customers", kwargs={"tenant": tenant_a.slug}), {"export": "csv"})
    accounts = {row[0] for row in csv.reader(io.StringIO(export.content.decode()))}
    assert set(ODD_IDS) <= accounts


def test_an_interaction_can_be_logged_for_a_customer_with_a_slash(tenant_a, odd_customers):
    customer = odd_customers[0][0]
    url = reverse("interaction-create", kwargs={"tenant": tenant_a.slug, "customer_id": customer.customer_id})
    response = login(tenant_a.rep_user).post(
        url, {"date": "2026-01-05", "kind": "call", "channel": "phone", "summary": "Asked about pipe"}
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert customer.interactions.filter(summary="Asked about pipe").exists()


def test_the_api_reaches_customers_with_a_slash(tenant_a, odd_customers):
    client = api_as(tenant_a.manager)
    for customer in odd_customers[0]:
        kwargs = {"tenant": tenant_a.slug, "customer_id": customer.customer_id}
        detail = client.get(reverse("api-customer-detail", kwargs=kwargs))
        assert detail.status_code == 200 and detail.json()["customer_id"] == customer.customer_id
        assert client.get(reverse("api-customer-scorecard", kwargs=kwargs)).status_code == 200


def test_another_tenant_and_another_rep_still_get_404_for_such_an_id(tenant_a, tenant_b, odd_customers):
    with scopes_disabled():
        f.CustomerFactory(distributor=tenant_a.distributor, rep=tenant_a.other_rep, customer_id="OTHER/9")
    mine = reverse("customer-detail", kwargs={"tenant": tenant_a.slug, "customer_id": "ACME/01"})
    not_mine = reverse("customer-detail", kwargs={"tenant": tenant_a.slug, "customer_id": "OTHER/9"})
    assert login(tenant_b.manager).get(mine).status_code == 404
    assert login(tenant_a.rep_user).get(not_mine).status_code == 404
    assert login(tenant_a.manager).get(not_mine).status_code == 200
