"""Pages read from the read replica, everything else from the primary (stratify/replica.py).

The replica is a second database of the test server (PostgreSQL pass: a second database on the same
local server, standing in for a streaming replica; SQLite pass: a second file). Its rows are copied
from the primary, then one customer's name is changed on the replica only: whichever name a read
returns says which database answered."""

import os
import tempfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django_scopes import scopes_disabled

from sales.models import Customer
from stratify.replica import PIN_COOKIE, REPLICA, ReplicaRouter, replica_reads
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])

REPLICA_SETTINGS = {"DATABASE_ROUTERS": ["stratify.replica.ReplicaRouter"]}


def replicate() -> None:
    """Copy every row of the primary to the replica (what streaming replication keeps doing)."""
    out = StringIO()
    with scopes_disabled():
        call_command(
            "dumpdata",
            exclude=["contenttypes", "auth.permission", "admin.logentry"],
            use_base_manager=True,
            stdout=out,
            database="default",
        )
    dump = out.getvalue()
    handle, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "w") as fh:
        fh.write(dump)
    with scopes_disabled():
        call_command("loaddata", path, database=REPLICA, verbosity=0)
    os.unlink(path)


@pytest.fixture
def tenant(settings):
    settings.MIDDLEWARE = ["stratify.replica.ReplicaMiddleware", *settings.MIDDLEWARE]
    distributor = f.DistributorFactory(slug="replica-co")
    manager = f.membership(distributor, "manager", username="replica-manager")
    with scopes_disabled():
        customer = f.CustomerFactory(distributor=distributor, customer_id="R-1", name="Acme on the primary")
    client = Client()
    client.force_login(manager)
    replicate()
    with scopes_disabled():
        Customer.objects.using(REPLICA).filter(pk=customer.pk).update(name="Acme on the replica")
    return distributor, customer, client


def test_router_sends_reads_to_the_replica_only_when_asked():
    router = ReplicaRouter()
    assert router.db_for_read(Customer) == "default"  # a job, a command, anything outside a page
    with replica_reads():
        assert router.db_for_read(Customer) == REPLICA
        with transaction.atomic():
            assert router.db_for_read(Customer) == "default"  # inside a transaction: its own writes
        assert router.db_for_write(Customer) == "default"
    assert router.allow_migrate("default", "sales") and not router.allow_migrate(REPLICA, "sales")


def test_pages_read_the_replica_and_jobs_the_primary(tenant):
    distributor, customer, client = tenant
    url = reverse("my-customers", kwargs={"tenant": distributor.slug})
    with override_settings(**REPLICA_SETTINGS):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "Acme on the replica" in html and "Acme on the primary" not in html
        # Outside a request (a worker's job, a command): the primary.
        with scopes_disabled():
            assert Customer.objects.get(pk=customer.pk).name == "Acme on the primary"
        # A write (any non-GET) pins the browser to the primary for a while: it reads back its change.
        client.post(url)
        assert PIN_COOKIE in client.cookies
        again = client.get(url).content.decode()
        assert "Acme on the primary" in again and "Acme on the replica" not in again
        # Writes always land on the primary, whichever database pages read.
        with replica_reads(), scopes_disabled():
            Customer.objects.filter(pk=customer.pk).update(name="Renamed")
        with scopes_disabled():
            assert Customer.objects.using("default").get(pk=customer.pk).name == "Renamed"
            assert Customer.objects.using(REPLICA).get(pk=customer.pk).name == "Acme on the replica"
    assert connections[REPLICA].settings_dict["NAME"] != connections["default"].settings_dict["NAME"]


def test_without_the_router_pages_read_the_primary(tenant):
    distributor, _customer, client = tenant
    html = client.get(reverse("my-customers", kwargs={"tenant": distributor.slug})).content.decode()
    assert "Acme on the primary" in html
