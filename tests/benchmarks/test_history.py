"""Issue 16, items 5, 6 and 8: the History page and API against a naive computation over three
hand-made runs; the migration between any two runs; slices add up to the unsliced totals; bad input
(unknown slice, unknown run) is a 400 naming what is allowed; a history of one run says trends need two."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.conftest import api_as
from tests.pages.conftest import login, make_run

from .data import BOOK, FIELDS, build, money

pytestmark = pytest.mark.django_db


def later(book, changes: dict):
    """A book with some customers' segments changed (and money scaled), previous segments following."""
    out = {}
    for account, values in book.items():
        rep, segment, _prev, revenue, gm, cts, np_, cats, klass, region = values
        new = changes.get(account, segment)
        scale = 1.1 if new == segment else 0.9
        out[account] = (
            rep,
            new,
            segment,
            None if revenue is None else round(revenue * scale, 2),
            gm,
            cts,
            None if np_ is None else round(np_ * scale, 2),
            cats,
            klass,
            region,
        )
    return out


def publish(t, customers, book):
    return make_run(t.distributor, {customers[a]: dict(zip(FIELDS, v[1:8], strict=True)) for a, v in book.items()})


def three_runs(t):
    run1, customers, _ = build(t)
    book2 = later(BOOK, {"K1": "opportunistic", "K3": "core", "K7": "core"})
    run2 = publish(t, customers, book2)
    book3 = later(book2, {"K1": "core", "K6": "service_drain"})
    book3.pop("K9")  # not scored in the third run
    run3 = publish(t, customers, book3)
    return [(run1, BOOK), (run2, book2), (run3, book3)], customers


def naive_run(book, previous=None, keep=lambda v: True):
    book = {a: v for a, v in book.items() if keep(v)}
    ranked = {a: v for a, v in book.items() if v[1] != "lapsed"}
    total_np = sum((money(v[6]) for v in book.values()), Decimal(0))
    total_rev = sum((money(v[3]) for v in book.values()), Decimal(0))
    counts = {
        s: sum(1 for v in book.values() if v[1] == s) for s in ("core", "opportunistic", "service_drain", "marginal")
    }
    np_share = {
        s: float(sum((money(v[6]) for v in book.values() if v[1] == s), Decimal(0)) / abs(total_np))
        if total_np
        else 0.0
        for s in counts
    }
    rev_share = {
        s: float(sum((money(v[3]) for v in book.values() if v[1] == s), Decimal(0)) / abs(total_rev))
        if total_rev
        else 0.0
        for s in counts
    }
    running, peak = Decimal(0), None
    for value in sorted((money(v[6]) for v in ranked.values()), reverse=True):
        running += value
        peak = running if peak is None or running > peak else peak
    retention = None
    if previous is not None:
        before = {a for a, v in previous.items() if v[1] == "core" and keep(v)}
        after = {a for a, v in book.items() if v[1] == "core"}
        retention = len(before & after) / len(before) if before else None
    return {
        "counts": counts,
        "np_share": np_share,
        "rev_share": rev_share,
        "peak": peak,
        "retention": retention,
        "customers": len(ranked),
        "net_profit": sum((money(v[6]) for v in ranked.values()), Decimal(0)),
    }


def test_history_matches_a_naive_computation(tenant_a):
    runs, _ = three_runs(tenant_a)
    body = api_as(tenant_a.manager).get(reverse("api-history", kwargs={"tenant": tenant_a.slug})).json()
    assert [r["run"] for r in body["runs"]] == [run.number for run, _ in runs]
    previous = None
    for got, (_run, book) in zip(body["runs"], runs, strict=True):
        want = naive_run(book, previous)
        assert got["customers"] == want["customers"]
        for s, n in want["counts"].items():
            assert got["segments"][s]["customers"] == n
            assert got["segments"][s]["net_profit_share"] == pytest.approx(want["np_share"][s], abs=1e-6)
            assert got["segments"][s]["revenue_share"] == pytest.approx(want["rev_share"][s], abs=1e-6)
        assert Decimal(got["whale_peak"]) == want["peak"].quantize(Decimal("0.01"))
        assert got["core_retention"] == (None if want["retention"] is None else pytest.approx(want["retention"]))
        previous = book
    # Migration between the first and the last run, customer by customer.
    first, last = runs[0], runs[2]
    body = (
        api_as(tenant_a.manager)
        .get(reverse("api-history", kwargs={"tenant": tenant_a.slug}), {"from": first[0].number, "to": last[0].number})
        .json()
    )
    cells = {(c["from"], c["to"]): c["customers"] for c in body["migration"]["cells"]}
    expected = {}
    for account in set(first[1]) | set(last[1]):
        key = (
            first[1][account][1] if account in first[1] else "absent",
            last[1][account][1] if account in last[1] else "absent",
        )
        expected[key] = expected.get(key, 0) + 1
    assert cells == expected


@pytest.mark.parametrize("by", ["branch", "customer_class", "region", "rep"])
def test_slices_add_up_to_the_whole(tenant_a, by):
    three_runs(tenant_a)
    url = reverse("api-history", kwargs={"tenant": tenant_a.slug})
    api = api_as(tenant_a.manager)
    whole = api.get(url).json()["runs"]
    page = login(tenant_a.manager).get(
        reverse("history", kwargs={"tenant": tenant_a.slug}), {"slice_by": by, "slice": "nonesuch"}
    )
    assert page.status_code == 400
    allowed = api.get(url, {"slice_by": by, "slice": "nonesuch"}).json()["detail"]
    values = allowed.split("use one of ", 1)[1].rstrip(".").split(", ")
    totals = [{"customers": 0, "net_profit": Decimal(0), "core": 0} for _ in whole]
    for value in values:
        part = api.get(url, {"slice_by": by, "slice": value}).json()
        assert part["slice"] == {"by": by, "value": value}
        for total, run in zip(totals, part["runs"], strict=True):
            total["customers"] += run["customers"]
            total["net_profit"] += Decimal(run["net_profit"])
            total["core"] += run["segments"]["core"]["customers"]
    for total, run in zip(totals, whole, strict=True):
        assert total["customers"] == run["customers"]
        assert total["net_profit"] == Decimal(run["net_profit"])
        assert total["core"] == run["segments"]["core"]["customers"]


def test_a_slice_is_the_naive_figures_of_its_customers(tenant_a):
    runs, _ = three_runs(tenant_a)
    body = (
        api_as(tenant_a.manager)
        .get(
            reverse("api-history", kwargs={"tenant": tenant_a.slug}), {"slice_by": "customer_class", "slice": "retail"}
        )
        .json()
    )
    previous = None
    for got, (_run, book) in zip(body["runs"], runs, strict=True):
        want = naive_run(book, previous, keep=lambda v: v[8] == "retail")
        assert got["customers"] == want["customers"]
        assert Decimal(got["net_profit"]) == want["net_profit"].quantize(Decimal("0.01"))
        assert got["core_retention"] == (None if want["retention"] is None else pytest.approx(want["retention"]))
        previous = book


def test_bad_input_and_one_run(tenant_a):
    build(tenant_a)
    url = reverse("api-history", kwargs={"tenant": tenant_a.slug})
    api = api_as(tenant_a.manager)
    body = api.get(url).json()
    assert len(body["runs"]) == 1 and body["note"] == "Trends need two published runs." and body["migration"] is None
    page = login(tenant_a.manager).get(reverse("history", kwargs={"tenant": tenant_a.slug}))
    assert page.status_code == 200 and "trends need two" in page.content.decode()
    bad = api.get(url, {"slice_by": "colour", "slice": "x"})
    assert bad.status_code == 400 and "branch, customer_class, region, rep" in bad.json()["detail"]
    assert api.get(url, {"from": "99"}).status_code == 400
    assert api_as(tenant_a.rep_user).get(url).status_code == 403


def test_history_page_and_export(tenant_a):
    three_runs(tenant_a)
    client = login(tenant_a.manager)
    page = client.get(reverse("history", kwargs={"tenant": tenant_a.slug}))
    html = page.content.decode()
    assert (
        page.status_code == 200 and "history-table" in html and "history-migration" in html and "history-data" in html
    )
    export = client.get(reverse("history", kwargs={"tenant": tenant_a.slug}), {"export": "csv"})
    lines = export.content.decode("utf-8-sig").strip().splitlines()
    assert export.status_code == 200 and len(lines) == 4
    sliced = client.get(reverse("history", kwargs={"tenant": tenant_a.slug}), {"slice_by": "region", "slice": "East"})
    assert sliced.status_code == 200 and "slice-note" in sliced.content.decode()
    bad_run = client.get(reverse("history", kwargs={"tenant": tenant_a.slug}), {"from": "x"})
    assert bad_run.status_code == 400


def test_runs_are_in_the_order_of_their_dates_whatever_the_order_of_publication(tenant_a):
    """A manager publishes a run dated before the latest one (re-running an older date): the history
    lists the runs by as-of date (then publication), so the trends do not run backwards, and each
    run's core retention is against the run before it in time (docs/guide-manager.md, History)."""
    from datetime import timedelta

    from django_scopes import scopes_disabled

    from tests.pages.conftest import AS_OF

    run1, customers, _ = build(tenant_a)
    book_late = later(BOOK, {"K1": "opportunistic", "K3": "core"})
    fields = lambda book: {customers[a]: dict(zip(FIELDS, v[1:8], strict=True)) for a, v in book.items()}  # noqa: E731
    late = make_run(tenant_a.distributor, fields(book_late), as_of=AS_OF + timedelta(days=90))
    book_middle = later(BOOK, {"K7": "core"})
    middle = make_run(tenant_a.distributor, fields(book_middle), as_of=AS_OF + timedelta(days=30))  # published last
    with scopes_disabled():
        for run in (run1, late, middle):
            run.refresh_from_db()
    assert middle.published_at > late.published_at and middle.as_of < late.as_of
    body = api_as(tenant_a.manager).get(reverse("api-history", kwargs={"tenant": tenant_a.slug})).json()
    assert [r["run"] for r in body["runs"]] == [run1.number, middle.number, late.number]
    dates = [r["as_of"] for r in body["runs"]]
    assert dates == sorted(dates)
    want = naive_run(book_late, book_middle)  # the late run's retention: against the middle one
    assert body["runs"][-1]["core_retention"] == (
        None if want["retention"] is None else pytest.approx(want["retention"])
    )
    # The default migration: the last two in time.
    assert (body["migration"]["from"], body["migration"]["to"]) == (middle.number, late.number)


def test_the_export_lists_segments_in_the_page_order(tenant_a):
    """The CSV's per-segment columns follow the page's table (core, opportunistic, service drain,
    marginal: SEGMENT_ORDER); they followed another order (service drain before opportunistic)."""
    import csv
    import io
    import re

    three_runs(tenant_a)
    client = login(tenant_a.manager)
    html = client.get(reverse("history", kwargs={"tenant": tenant_a.slug})).content.decode()
    table = html[html.index('id="history-table"') : html.index("</thead>", html.index('id="history-table"'))]
    page_order = re.findall(r'badge badge-segment segment-\w+">([^<]+)<', table)
    export = client.get(reverse("history", kwargs={"tenant": tenant_a.slug}), {"export": "csv"})
    header = next(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    csv_order = [h[: -len(" customers")] for h in header if h.endswith(" customers") and h != "Ranked customers"]
    assert len(page_order) == 4 and csv_order == page_order
