"""The demo generator (imports/demo.py) and the `demo_data` command: a distributor with the shape of a
real one, deterministic by seed, loaded through the import's write path, idempotent."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Sum
from django_scopes import scope, scopes_disabled

from accounts.models import Distributor
from imports.demo import DemoDistributor, archetype_names, trend_names

END = date(2025, 12, 31)


def make(**kwargs) -> DemoDistributor:
    params = {"customers": 300, "lines": 30_000, "seed": 11, "end_date": END} | kwargs
    return DemoDistributor(**params)


def all_lines(demo: DemoDistributor) -> pd.DataFrame:
    return pd.concat(list(demo.line_chunks()), ignore_index=True)


@pytest.fixture(scope="module")
def demo() -> DemoDistributor:
    return make()


@pytest.fixture(scope="module")
def lines(demo) -> pd.DataFrame:
    return all_lines(demo)


def by_customer(demo, lines) -> pd.DataFrame:
    g = lines.groupby("customer_id").agg(
        revenue=("revenue", "sum"),
        cost=("cost", "sum"),
        invoices=("invoice_id", "nunique"),
        last=("invoice_date", "max"),
    )
    g["margin"] = 1 - g["cost"] / g["revenue"]
    g["archetype"] = pd.Series(archetype_names(demo), index=demo.customer_ids)
    g["trend"] = pd.Series(trend_names(demo), index=demo.customer_ids)
    return g


# --- the generator -------------------------------------------------------------------------------
def test_same_seed_same_data_other_seed_other_data(lines):
    again = make()
    pd.testing.assert_frame_equal(all_lines(again), lines)
    pd.testing.assert_frame_equal(again.customers_frame(), make().customers_frame())
    pd.testing.assert_frame_equal(again.interactions_frame(), make().interactions_frame())
    other = all_lines(make(seed=12))
    assert not other["customer_id"].equals(lines["customer_id"])


def test_exact_line_count_and_unique_natural_keys_across_chunks():
    demo = make(lines=12_345, chunk_size=1_000)
    chunks = list(demo.line_chunks())
    assert len(chunks) == 13
    assert max(len(c) for c in chunks) == 1_000
    lines = pd.concat(chunks)
    assert len(lines) == 12_345
    assert not lines.duplicated(["invoice_id", "line_no"]).any()
    # Line numbers restart at 1 in each invoice and have no gaps.
    first = lines.groupby("invoice_id")["line_no"].agg(["min", "max", "size"])
    assert (first["min"] == 1).all() and (first["max"] == first["size"]).all()


def test_spend_is_pareto_shaped(demo, lines):
    revenue = lines.groupby("customer_id")["revenue"].sum().reindex(demo.customer_ids, fill_value=0)
    top = revenue.sort_values(ascending=False).head(len(revenue) // 5)
    assert top.sum() / revenue.sum() > 0.6
    # ... and a long tail: the median account is small next to the largest.
    assert revenue.median() < revenue.max() / 20


def test_archetypes_large_poor_margin_heavy_service_and_small_high_margin(demo, lines):
    g = by_customer(demo, lines)
    med = g.groupby("archetype").median(numeric_only=True)
    drain, core, opp = med.loc["service_drain"], med.loc["core"], med.loc["opportunistic"]
    assert drain["revenue"] > 3 * opp["revenue"] and core["revenue"] > 3 * opp["revenue"]
    assert drain["margin"] < core["margin"] - 0.08
    assert opp["margin"] > core["margin"] + 0.05
    # Frequent small orders: many more invoices per dollar than core accounts; occasional buyers: few.
    assert drain["invoices"] / drain["revenue"] > 3 * core["invoices"] / core["revenue"]
    assert opp["invoices"] <= 4
    # Heavy service: returns, special orders and deliveries concentrate on the service-drain accounts.
    arch = g["archetype"].reindex(lines["customer_id"]).to_numpy()
    is_drain = arch == "service_drain"
    assert (lines["quantity"][is_drain] < 0).mean() > 2 * (lines["quantity"][~is_drain] < 0).mean()
    assert lines["special_order"][is_drain].mean() > 2 * lines["special_order"][~is_drain].mean()
    assert (lines["ship_method"][is_drain] == "delivery").mean() > 0.7


def test_returns_special_orders_ship_methods_channels_partners_days_to_pay(lines):
    returns = lines[lines["quantity"] < 0]
    assert len(returns) > 0.01 * len(lines)
    assert (returns["revenue"] < 0).all() and returns["invoice_id"].str.startswith("CM").all()
    assert lines["special_order"].sum() > 0.02 * len(lines)
    assert set(lines["ship_method"]) >= {"delivery", "will_call", "parcel", "drop_ship", "freight", "web"}
    assert {"direct", "counter", "web", "edi"} <= set(lines["channel"])
    with_partner = lines[lines["partner_id"] != ""]
    assert 0.02 * len(lines) < len(with_partner) < 0.5 * len(lines)
    # A sale through a partner was ordered through it: its channel is the partner's kind (freight the
    # logistics partner carries keeps the channel it was ordered by).
    assert {"reseller", "installer"} <= set(lines["channel"][lines["partner_id"] != ""])
    # Days to pay are known for paid invoices; the most recent ones are still open.
    assert lines["days_to_pay"].notna().mean() > 0.8 and lines["days_to_pay"].isna().any()


def test_reference_data_categories_brands_suppliers_partners_reps(demo):
    products = demo.products_frame()
    assert products["category"].nunique() >= 30
    assert products["brand"].nunique() >= 20 and products["supplier_id"].nunique() >= 10
    partners = demo.partners_frame()
    assert {"reseller", "installer", "supplier"} <= set(partners["kind"])
    assert set(products["supplier_id"]) <= set(partners["partner_id"])
    customers = demo.customers_frame()
    books = customers[customers["rep_id"] != ""].groupby("rep_id").size()
    assert len(books) == len(demo.reps_frame()) and books.min() >= 5
    assert customers["branch"].nunique() >= 3
    assert customers["customer_class"].nunique() >= 5 and customers["supply_chain_role"].nunique() >= 3
    assert (customers["potential_annual_spend"] > 0).all()
    interactions = demo.interactions_frame()
    assert {"call", "visit", "quote", "complaint"} <= set(interactions["kind"])
    assert not interactions.duplicated(["customer_id", "date", "kind", "rep_id", "channel", "summary"]).any()


def test_three_years_with_growing_declining_and_lapsed_customers(demo, lines):
    dates = pd.to_datetime(lines["invoice_date"])
    assert dates.max().date() <= END and dates.min().date() >= END - timedelta(days=3 * 365)
    assert (dates.dt.day_of_week < 5).all()
    g = by_customer(demo, lines)
    lapsed = g[g["trend"] == "lapsed"]
    assert len(lapsed) >= 10
    assert (lapsed["last"] < pd.Timestamp(END - timedelta(days=365))).all()
    # Others mostly bought in the last year (occasional small buyers may have skipped it).
    assert (g[g["trend"] != "lapsed"]["last"] >= pd.Timestamp(END - timedelta(days=365))).mean() > 0.75
    # Growing customers buy more in the last year than in the first; declining ones less.
    year = (dates - dates.min()).dt.days // 365
    yearly = (
        lines.assign(year=year.clip(upper=2)).groupby(["customer_id", "year"])["revenue"].sum().unstack(fill_value=0)
    )
    trend = g["trend"].reindex(yearly.index)
    growth = yearly[2].groupby(trend).sum() / yearly[0].groupby(trend).sum()
    assert growth["growing"] > 1.3 and growth["declining"] < 0.8


# --- the command, through the import's write path -------------------------------------------------
def snapshot(slug: str) -> dict:
    from channels.models import Interaction, Partner
    from sales.models import Customer, InvoiceLine, Product, Rep

    with scopes_disabled():
        d = Distributor.objects.get(slug=slug)
        fields = [f.attname for f in InvoiceLine._meta.concrete_fields]
        return {
            "lines": list(InvoiceLine.objects.filter(distributor=d).order_by("id").values_list(*fields)),
            "customers": list(Customer.objects.filter(distributor=d).order_by("id").values_list()),
            "products": list(Product.objects.filter(distributor=d).order_by("id").values_list()),
            "partners": list(Partner.objects.filter(distributor=d).order_by("id").values_list()),
            "reps": list(Rep.objects.filter(distributor=d).order_by("id").values_list()),
            "interactions": list(
                Interaction.objects.filter(distributor=d).order_by("id").values_list("id", "natural_key", "date")
            ),
        }


ARGS = {"customers": 120, "lines": 6_000, "seed": 5, "end_date": END}


@pytest.mark.django_db(transaction=True)
def test_demo_data_command_loads_a_distributor_and_is_idempotent():
    from channels.models import Interaction, Partner
    from sales.models import Customer, InvoiceLine, Product, Rep

    call_command("demo_data", "demo-test", **ARGS, chunk_size=2_500)
    with scopes_disabled():
        d = Distributor.objects.get(slug="demo-test")
    with scope(distributor=d):
        assert InvoiceLine.objects.filter(distributor=d).count() == 6_000
        assert Customer.objects.filter(distributor=d).count() == 120
        assert Product.objects.filter(distributor=d).values("category").distinct().count() >= 30
        assert Partner.objects.filter(distributor=d, kind="installer").exists()
        assert Interaction.objects.filter(distributor=d).exists()
        books = Rep.objects.filter(distributor=d).annotate(n=Count("customers"))
        assert books.count() >= 3 and all(r.n > 0 for r in books)
        lines = InvoiceLine.objects.filter(distributor=d)
        assert lines.filter(quantity__lt=0, revenue__lt=0).exists()
        assert lines.filter(special_order=True).exists()
        assert lines.values("ship_method").distinct().count() >= 5
        assert lines.exclude(partner=None).exists()
        last = lines.values("customer").annotate(last=Max("invoice_date"))
        assert last.filter(last__lt=END - timedelta(days=365)).exists()
        assert Customer.objects.filter(distributor=d, potential_annual_spend__gt=0).count() == 120
        # Pareto in the database too.
        revenue = sorted((r["s"] for r in lines.values("customer").annotate(s=Sum("revenue"))), reverse=True)
        assert sum(revenue[: len(revenue) // 5]) / sum(revenue) > 0.6
    before = snapshot("demo-test")
    call_command("demo_data", "demo-test", **ARGS, chunk_size=2_500)
    assert snapshot("demo-test") == before


def test_demo_data_default_size_is_quick_enough_for_make_run():
    """`make run` loads 400 customers and 40,000 lines; the generation itself must be a small part
    of the minute it may take (the write path is timed by the command test above)."""
    import time

    start = time.perf_counter()
    demo = DemoDistributor(customers=400, lines=40_000, seed=7)
    n = sum(len(c) for c in demo.line_chunks())
    demo.customers_frame(), demo.products_frame(), demo.partners_frame(), demo.interactions_frame()
    assert n == 40_000
    assert time.perf_counter() - start < 5


def test_large_sizes_keep_chunks_bounded():
    demo = DemoDistributor(customers=5_000, lines=1_200_000, seed=1, chunk_size=500_000)
    sizes = [len(c) for c in demo.line_chunks()]
    assert sizes == [500_000, 500_000, 200_000]
    assert np.isclose(demo.invoice_p.sum(), 1.0)


def test_customer_classes_buy_in_their_own_ways_and_partners_have_texts(demo, lines):
    """Issue 14: contractors at the counter, OEMs by EDI with freight, end users through installers,
    institutions on the web; a named logistics partner carries freight; every partner has its texts."""
    customers = demo.customers_frame()[["customer_id", "customer_class"]]
    partners = demo.partners_frame()
    merged = lines.merge(customers, on="customer_id").merge(
        partners[["partner_id", "kind"]], on="partner_id", how="left"
    )

    def share(cls, column, value):
        rows = merged[merged["customer_class"] == cls]
        return (rows[column] == value).mean()

    assert share("contractor", "channel", "counter") > 0.4
    assert share("OEM", "channel", "edi") > 0.4 and share("OEM", "ship_method", "freight") > 0.4
    assert share("institution", "channel", "web") > 0.3
    assert share("end user", "kind", "installer") > 0.4 and share("end user", "channel", "installer") > 0.4
    logistics = partners[partners["kind"] == "logistics"]
    assert "Swift Freight Logistics" in set(logistics["name"])
    carried = merged.loc[merged["kind"] == "logistics", "ship_method"]
    assert len(carried) and (carried == "freight").mean() > 0.8  # special-order lines may drop-ship
    texts = partners[["supports_customer", "services", "why_customers_use_it"]]
    assert (texts.apply(lambda c: c.str.len()) > 10).all().all()
    kinds = set(demo.interactions_frame()["kind"])
    assert {"call", "visit", "email", "quote", "web", "service", "complaint", "delivery"} <= kinds
