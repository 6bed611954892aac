"""Ship methods and routes to market read in plain words on the pages ("Will call (pickup)", "EDI"),
where DATA_FORMAT.md names their codes; a distributor's own codes stay as sent; the API, the exports
of the profit-centers command and the settings keep the codes."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_scopes import scopes_disabled

from channels.vocabulary import route_label, ship_method_label
from insights.operations import DeliveriesTable
from segments.names import value_names
from tests.conftest import api_as

from .test_channel_map import build
from .test_channel_pages import login, url

pytestmark = pytest.mark.django_db
SHIPS = ["will_call", "drop_ship", "UPS-GND"]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def built(tenant_a):
    run, rows = build(tenant_a.distributor, ships=SHIPS)
    return tenant_a, run, rows


def test_the_codes_data_format_names_read_in_words_and_others_as_sent():
    assert ship_method_label("will_call") == "Will call (pickup)" and ship_method_label("drop_ship") == "Drop ship"
    assert ship_method_label("UPS-GND") == "UPS-GND" and ship_method_label("") == ""
    assert route_label("edi") == "EDI" and route_label("counter") == "Counter" and route_label("P-7") == "P-7"


def test_channel_map_page_says_will_call_where_the_api_keeps_the_code(built):
    tenant, _run, _rows = built
    response = login(tenant.manager).get(url(tenant, "channel-map"))
    html, body = response.content.decode(), response.context["body"]  # the page's data (#channel-map-data)
    assert json.dumps(body["nodes"][0]["label"]) in html
    groups = [n for n in body["nodes"] if n["kind"] == "customer_group"]
    shown = {k for n in groups for k in n["ship_methods"]}
    assert "Will call (pickup)" in shown and "UPS-GND" in shown and "will_call" not in shown
    assert {n["preferred_ship_method"][0] for n in groups} <= {"Will call (pickup)", "Drop ship", "UPS-GND"}
    routes = {n["label"] for n in body["nodes"] if n["kind"] == "route"}
    assert {"Counter", "EDI", "Web"} <= routes and "edi" not in routes
    table = html.split('id="buying-table"', 1)[1].split("</table>", 1)[0]
    assert "will_call" not in table and ("Will call (pickup)" in table or "Drop ship" in table or "UPS-GND" in table)

    api = api_as(tenant.manager).get(reverse("api-channel-map", kwargs={"tenant": tenant.slug})).json()
    codes = {k for n in api["nodes"] if n["kind"] == "customer_group" for k in n["ship_methods"]}
    assert "will_call" in codes and "Will call (pickup)" not in codes


def test_definitions_and_partner_pages_say_will_call(built):
    tenant, _run, _rows = built
    client = login(tenant.manager)
    side_by_side = client.get(url(tenant, "customer-definitions")).content.decode()
    one = client.get(url(tenant, "customer-definition", by="customer_class", value="oem")).content.decode()
    partner = client.get(url(tenant, "partner-detail", partner_id="RS1")).content.decode()
    for html in (side_by_side, one, partner):
        assert "will_call" not in html and "drop_ship" not in html
    assert "Will call (pickup)" in one and ("EDI" in one or "Counter" in one)
    assert "Will call (pickup)" in partner or "Drop ship" in partner


def test_profit_centers_name_ship_methods_and_routes(built):
    tenant, _run, _rows = built
    client = login(tenant.manager)
    page = reverse("profit-centers", kwargs={"tenant": tenant.slug})
    ships = client.get(page + "?dimension=ship_method").content.decode()
    assert "Will call (pickup)" in ships and "Drop ship" in ships and "UPS-GND" in ships
    routes = client.get(page + "?dimension=channel").content.decode()
    assert "EDI" in routes and "Counter" in routes
    with scopes_disabled():
        names = value_names(distributor=tenant.distributor, dimension="channel")
    assert names["edi"] == "EDI"  # and the drill-down keeps the code:
    assert "dimension=ship_method&amp;value=will_call" in ships


def test_the_deliveries_table_shows_and_exports_ship_methods_in_words():
    row = {"branch": "Dallas", "ship_method": "will_call", "deliveries": 3}
    exported = dict(
        zip((key for key, _label, _kind in DeliveriesTable.spec), DeliveriesTable.export_row(row), strict=True)
    )
    assert exported["ship_method"] == "Will call (pickup)"
    assert (
        DeliveriesTable([row, {"branch": "Tulsa", "ship_method": "UPS-GND", "deliveries": 1}]).render_cell(
            "ship_method", "drop_ship"
        )
        == "Drop ship"
    )
