"""Shared fixtures: two tenants, A and B, each with a manager, a rep (with an assigned customer and an
unassigned one) and a customer user. Rows are created with scoping disabled; the code under test
runs with the scopes it sets up itself, so tests stay strict."""

from dataclasses import dataclass

import pytest
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from tests import factories as f

PASSWORD = "pass-word-123"


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` are deselected (not skipped) in the SQLite pass, and tests marked
    `sqlite` in the PostgreSQL pass: `make test` runs each in the other pass, so every test it
    reports has run somewhere and none is skipped."""
    from django.conf import settings

    other_pass = "sqlite" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "postgres"
    deselected = [item for item in items if item.get_closest_marker(other_pass)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(other_pass)]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: per-tenant entries are keyed by primary keys, which
    SQLite hands out again once a test's transaction rolls back."""
    from django.core.cache import cache

    cache.clear()
    yield


@dataclass
class Tenant:
    distributor: object
    manager: object
    rep_user: object
    customer_user: object
    rep: object
    other_rep: object
    assigned_customer: object
    unassigned_customer: object
    partner: object
    product: object
    interaction: object
    other_interaction: object

    @property
    def slug(self) -> str:
        return self.distributor.slug

    def users(self) -> dict:
        return {"manager": self.manager, "rep": self.rep_user, "customer": self.customer_user}


def make_tenant(slug: str) -> Tenant:
    with scopes_disabled():
        distributor = f.DistributorFactory(slug=slug, name=f"Tenant {slug.upper()}")
        rep = f.RepFactory(distributor=distributor, rep_id=f"{slug}-R1")
        other_rep = f.RepFactory(distributor=distributor, rep_id=f"{slug}-R2")
        assigned = f.CustomerFactory(distributor=distributor, customer_id=f"{slug}-C1", rep=rep)
        unassigned = f.CustomerFactory(distributor=distributor, customer_id=f"{slug}-C2", rep=other_rep)
        product = f.ProductFactory(distributor=distributor, product_id=f"{slug}-SKU1")
        partner = f.PartnerFactory(distributor=distributor, partner_id=f"{slug}-P1")
        interaction = f.InteractionFactory(distributor=distributor, customer=assigned)
        other_interaction = f.InteractionFactory(distributor=distributor, customer=unassigned)
        return Tenant(
            distributor=distributor,
            manager=f.membership(distributor, "manager", username=f"{slug}-manager"),
            rep_user=f.membership(distributor, "rep", username=f"{slug}-rep", rep=rep),
            customer_user=f.membership(distributor, "customer", username=f"{slug}-customer", customer=assigned),
            rep=rep,
            other_rep=other_rep,
            assigned_customer=assigned,
            unassigned_customer=unassigned,
            partner=partner,
            product=product,
            interaction=interaction,
            other_interaction=other_interaction,
        )


@pytest.fixture
def tenant_a(db) -> Tenant:
    return make_tenant("alpha")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return make_tenant("bravo")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def no_scope():
    """For assertions that read tenant rows directly."""
    with scopes_disabled():
        yield
