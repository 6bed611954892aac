"""Issue 16 on the demo data (`setup_demo`, what `make run` loads): every benchmark page and export
answers for the manager; the rep's coaching table, page, export and API hold only the rep's own row
and customers; the rep table's counts and money equal a recomputation from the exported scores."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from accounts.models import User
from sales.models import Customer
from segments.models import CustomerScore
from segments.selectors import current_run
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def test_benchmarks_on_the_demo_data():
    call_command("setup_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    manager, rep = User.objects.get(username="demo-manager"), User.objects.get(username="demo-rep")
    client = Client()
    client.force_login(manager)
    for name in ("coaching", "leakage", "history", "benchmark-segments", "dashboard"):
        url = reverse(name, kwargs={"tenant": "demo"})
        assert client.get(url).status_code == 200, name
        if name != "dashboard":
            assert client.get(url, {"export": "xlsx"}).status_code == 200, name
    body = api_as(manager).get(reverse("api-coaching-reps", kwargs={"tenant": "demo"})).json()
    # Recomputed from the scores and the customers' reps (as an export of scores would give them).
    with scopes_disabled():
        from accounts.models import Distributor

        demo = Distributor.objects.get(slug="demo")
        run = current_run(demo)
        reps = dict(Customer.objects.filter(distributor=demo).values_list("pk", "rep__rep_id"))
        naive = defaultdict(lambda: {"customers": 0, "core": 0, "revenue": Decimal(0), "np": Decimal(0)})
        for cpk, segment, revenue, np_ in CustomerScore.objects.filter(distributor=demo, run=run).values_list(
            "customer_id", "segment", "revenue", "net_profit"
        ):
            if segment == "lapsed" or reps.get(cpk) is None:
                continue
            row = naive[reps[cpk]]
            row["customers"] += 1
            row["core"] += segment == "core"
            row["revenue"] += Decimal(repr(revenue or 0.0))
            row["np"] += Decimal(repr(np_ or 0.0))
    for row in body["reps"]:
        want = naive[row["rep_id"]]
        assert (row["customers"], row["core_customers"]) == (want["customers"], want["core"])
        assert abs(Decimal(row["revenue"]) - want["revenue"]) <= Decimal("0.01")
        assert abs(Decimal(row["net_profit"]) - want["np"]) <= Decimal("0.01")
    # The rep: own row only, and only own customers on the page and in the export.
    rep_body = api_as(rep).get(reverse("api-coaching-reps", kwargs={"tenant": "demo"})).json()
    with scopes_disabled():
        own = rep.memberships.get().rep.rep_id
        others = list(
            Customer.objects.filter(distributor=demo).exclude(rep__rep_id=own).values_list("customer_id", flat=True)
        )
    assert [r["rep_id"] for r in rep_body["reps"]] == [own]
    rep_client = Client()
    rep_client.force_login(rep)
    page = rep_client.get(reverse("coaching-rep", kwargs={"tenant": "demo", "rep_id": own}), {"per_page": 500})
    export = rep_client.get(reverse("coaching-rep", kwargs={"tenant": "demo", "rep_id": own}), {"export": "csv"})
    text = page.content.decode() + export.content.decode("utf-8-sig")
    assert not [c for c in others if f">{c}<" in text or f"\n{c}," in text]
    other_rep = next(r["rep_id"] for r in body["reps"] if r["rep_id"] != own)
    assert rep_client.get(reverse("coaching-rep", kwargs={"tenant": "demo", "rep_id": other_rep})).status_code == 404
