"""Issue 11, item 8: the API is consistent. `page_size` is honoured and bounded (and the links carry
the size used); every error carries a `detail` (a bad login too; a 400 keeps its field messages beside
it); every amount is a decimal string with two decimals (scores, run totals, customers, scorecards);
and the API examples of docs/API.md work on the demo data as written."""

import re
import shlex
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from segments.models import StratificationRun
from tests import factories as f
from tests.conftest import api_as
from tests.pages.conftest import add_sales, make_run

pytestmark = pytest.mark.django_db
MONEY = re.compile(r"^-?\d+\.\d{2}$")


def customers_url(tenant):
    return reverse("api-customer-list", kwargs={"tenant": tenant.slug})


def test_page_size_is_honoured_and_bounded(tenant_a):
    with scopes_disabled():
        for i in range(6):
            f.CustomerFactory(distributor=tenant_a.distributor, rep=tenant_a.rep, customer_id=f"alpha-P{i}")
    api = api_as(tenant_a.manager)
    body = api.get(customers_url(tenant_a), {"page_size": 2}).json()
    assert len(body["results"]) == 2 and body["page_size"] == 2 and body["count"] >= 8
    assert parse_qs(urlsplit(body["next"]).query) == {"page": ["2"], "page_size": ["2"]}
    second = api.get(body["next"]).json()
    assert len(second["results"]) == 2 and parse_qs(urlsplit(second["previous"]).query)["page_size"] == ["2"]
    # Too big: bounded to 500, and the links say 500, never the size asked for.
    big = api.get(customers_url(tenant_a), {"page_size": 100000}).json()
    assert big["page_size"] == 500 and big["next"] is None
    for bad in ("0", "-3", "abc"):
        assert api.get(customers_url(tenant_a), {"page_size": bad}).json()["page_size"] == 50


def test_every_error_carries_a_detail(tenant_a, tenant_b):
    anonymous = APIClient()
    bad_login = anonymous.post(reverse("api-token"), {"username": tenant_a.manager.username, "password": "wrong"})
    assert bad_login.status_code == 400
    assert bad_login.json()["detail"] == "Unable to log in with provided credentials."
    assert anonymous.get(customers_url(tenant_a)).json()["detail"]  # 401
    api = api_as(tenant_a.manager)
    assert api.get(customers_url(tenant_b)).json()["detail"]  # 404: another tenant
    assert api_as(tenant_a.customer_user).get(customers_url(tenant_a)).json()["detail"]  # 403
    runs = reverse("api-run-list", kwargs={"tenant": tenant_a.slug})
    invalid = api.post(runs, {"as_of": "not-a-date"}, format="json")
    assert invalid.status_code == 400
    body = invalid.json()
    assert body["detail"].startswith("as_of: ") and body["as_of"]  # the field's messages stay
    policies = reverse("api-tier-policies", kwargs={"tenant": tenant_a.slug})
    bad_policy = api.put(policies, [{"segment": "nope"}], format="json")
    assert bad_policy.status_code == 400 and bad_policy.json()["detail"] and "segment" in bad_policy.json()


def test_money_is_a_decimal_string_with_two_decimals_everywhere(tenant_a):
    d = tenant_a.distributor
    with scopes_disabled():
        customer = tenant_a.assigned_customer
        customer.potential_annual_spend = Decimal("150000.1250")
        customer.save()
    add_sales(d, customer, categories=("Pipe", "Valves"), months=4)
    run = make_run(d, {customer: {"segment": "service_drain", "revenue": 12345.678, "net_profit": -800.005}})
    with scopes_disabled():
        StratificationRun.objects.filter(pk=run.pk).update(
            totals={"core": {"count": 1, "revenue": "100.5", "net_profit": "-2"}, "lapsed": {"count": 0}}
        )
    api, t = api_as(tenant_a.manager), tenant_a.slug
    scores = api.get(reverse("api-run-scores", kwargs={"tenant": t, "pk": run.number})).json()["results"]
    assert scores[0]["revenue"] == "12345.68" and scores[0]["net_profit"] == "-800.00"
    assert all(MONEY.match(scores[0][k]) for k in ("gross_margin", "cost_to_serve"))
    assert isinstance(scores[0]["value_score"], float)  # scores are not money
    totals = api.get(reverse("api-run-detail", kwargs={"tenant": t, "pk": run.number})).json()["totals"]
    assert totals == {"core": {"count": 1, "revenue": "100.50", "net_profit": "-2.00"}, "lapsed": {"count": 0}}
    detail = api.get(reverse("api-customer-detail", kwargs={"tenant": t, "customer_id": customer.customer_id}))
    assert detail.json()["potential_annual_spend"] == "150000.12"  # 150000.125, half-even
    for client, name, kwargs in (
        (api_as(tenant_a.customer_user), "api-scorecard", {}),
        (api, "api-customer-scorecard", {"customer_id": customer.customer_id}),
    ):
        card = client.get(reverse(name, kwargs={"tenant": t, **kwargs})).json()
        assert card["figures"]["purchases"] == "8000.00"
        # Issue 12: `progress` became `targets` (a service-drain customer is shown profit targets).
        order = next(row for row in card["targets"] if row["metric"] == "average_order")
        assert (order["value"], order["target"], order["gap"]) == ("1000.00", "450.00", "0.00")
        assert all(MONEY.match(m["purchases"]) for m in card["trend"])
        assert card["figures"]["orders"] == 8  # counts stay numbers


def _readme_api_examples() -> list[str]:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "API.md").read_text()
    block = doc.split("```sh\n", 1)[1].split("```", 1)[0]
    # `curl ...`, or `T=$(curl ... | python3 ...)` (the token), each without its trailing comment.
    commands = [re.search(r"curl .*?(?=\s+\||\s+#|$)", line) for line in block.splitlines()]
    return [m.group(0) for m in commands if m]


def test_the_readme_s_api_examples_work_on_the_demo_data():
    call_command("setup_demo", stdout=open("/dev/null", "w"))  # what `make run` loads  # noqa: SIM115
    client, token = APIClient(), None
    examples = _readme_api_examples()
    assert len(examples) >= 6
    for example in examples:
        args = shlex.split(example.replace("$T", token or ""))
        url = next(a for a in args if "localhost:8000" in a).split("localhost:8000", 1)[1]
        data = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-d")
        headers = {}
        if "-H" in args:
            name, _, value = args[args.index("-H") + 1].partition(": ")
            headers["HTTP_" + name.upper().replace("-", "_")] = value
        response = client.post(url, data, **headers) if "POST" in args else client.get(url, **headers)
        assert response.status_code in (200, 201, 202), (example, response.status_code, response.content[:300])
        body = response.json()
        if url.startswith("/api/v1/auth/token/"):
            token = body["token"]
        if isinstance(body, dict) and "results" in body:
            assert body["results"], example  # the example shows something on the demo data
        if "scorecard" in url:
            assert body["available"], example
