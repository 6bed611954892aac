"""Rep assignment: managers see and change which rep owns which customers, in bulk."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from sales.models import Customer

from .conftest import login

pytestmark = pytest.mark.django_db


def url(tenant):
    return reverse("rep-assignment", kwargs={"tenant": tenant.slug})


def test_manager_reassigns_customers_in_bulk(tenant_a, tenant_b):
    client = login(tenant_a.manager)
    page = client.get(url(tenant_a))
    assert page.status_code == 200
    assert {c.customer_id for c in page.context["page"]} == {"alpha-C1", "alpha-C2"}
    response = client.post(
        url(tenant_a), {"customers": ["alpha-C1", "alpha-C2", "bravo-C1"], "rep": tenant_a.other_rep.rep_id}
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert set(Customer.objects.filter(rep=tenant_a.other_rep).values_list("customer_id", flat=True)) == {
            "alpha-C1",
            "alpha-C2",
        }
        # Another tenant's customer with a code in the request is untouched.
        assert Customer.objects.get(customer_id="bravo-C1").rep == tenant_b.rep
    # The rep who lost the customer now gets 404 on it.
    detail = reverse("customer-detail", kwargs={"tenant": tenant_a.slug, "customer_id": "alpha-C1"})
    assert login(tenant_a.rep_user).get(detail).status_code == 404


def test_filter_by_rep_and_unassign(tenant_a):
    client = login(tenant_a.manager)
    page = client.get(url(tenant_a), {"rep": tenant_a.rep.rep_id})
    assert [c.customer_id for c in page.context["page"]] == ["alpha-C1"]
    client.post(url(tenant_a), {"customers": ["alpha-C1"], "rep": "none"})
    assert [c.customer_id for c in client.get(url(tenant_a), {"rep": "none"}).context["page"]] == ["alpha-C1"]


def test_errors_name_the_field(tenant_a):
    response = login(tenant_a.manager).post(url(tenant_a), {"rep": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Customers: Select at least one customer." in html
    assert "Rep: Choose a rep of this distributor." in html


def test_only_managers(tenant_a, tenant_b):
    assert login(tenant_a.rep_user).get(url(tenant_a)).status_code == 403
    assert login(tenant_a.customer_user).post(url(tenant_a), {"customers": ["alpha-C1"]}).status_code == 403
    assert login(tenant_b.manager).get(url(tenant_a)).status_code == 404
