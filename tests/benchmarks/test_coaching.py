"""Issue 16, item 1 and 7: the rep coaching table against a naive computation on a hand-made book;
a rep sees their own row and the median only (page, API, export); a rep with no customers gets an
empty row."""

import csv
import io
import statistics
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest
from django.urls import reverse

from segments.vocabulary import SEGMENT_RANK
from tests.conftest import api_as
from tests.pages.conftest import login

from .data import BOOK, build, money

pytestmark = pytest.mark.django_db
CENT = Decimal("0.01")


def cents(value) -> str:
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def naive(book=BOOK):
    """Every rep's figures, straight from the book."""
    core_categories = sorted(v[7] for v in book.values() if v[1] == "core")
    benchmark = statistics.median(core_categories)
    out = {}
    for rep in ("r1", "r2", "r3"):
        mine = {a: v for a, v in book.items() if v[0] == rep}
        ranked = {a: v for a, v in mine.items() if v[1] != "lapsed"}
        core = {a: v for a, v in ranked.items() if v[1] == "core"}
        revenue = sum((money(v[3]) for v in ranked.values()), Decimal(0))
        np_ = sum((money(v[6]) for v in ranked.values()), Decimal(0))
        cts = sum((money(v[5]) for v in ranked.values()), Decimal(0))
        up = sum(1 for v in mine.values() if v[2] and SEGMENT_RANK[v[1]] < SEGMENT_RANK[v[2]])
        down = sum(1 for v in mine.values() if v[2] and SEGMENT_RANK[v[1]] > SEGMENT_RANK[v[2]])
        into = [v for v in mine.values() if v[1] == "core" and v[2] != "core"]
        out_of = [v for v in mine.values() if v[2] == "core" and v[1] != "core"]
        out[rep] = {
            "customers": len(ranked),
            "core_customers": len(core),
            "revenue": revenue,
            "net_profit": np_,
            "cost_to_serve_per_1000": cts * 1000 / revenue if revenue > 0 else None,
            "core_share_revenue": float(sum((money(v[3]) for v in core.values()), Decimal(0)) / revenue)
            if revenue > 0
            else None,
            "moved_up": up,
            "moved_down": down,
            "into_core": len(into),
            "out_of_core": len(out_of),
            "net_profit_into_core": sum((money(v[6]) for v in into), Decimal(0)),
            "net_profit_out_of_core": sum((money(v[6]) for v in out_of), Decimal(0)),
            "core_below_benchmark": sum(1 for v in core.values() if v[7] < benchmark),
        }
    active = [v for v in out.values() if v["customers"]]
    median = {
        k: statistics.median([v[k] for v in active]) for k in ("customers", "revenue", "net_profit", "moved_down")
    }
    return out, median, benchmark


def test_rep_table_matches_a_naive_computation(tenant_a):
    build(tenant_a)
    expected, median, benchmark = naive()
    body = api_as(tenant_a.manager).get(reverse("api-coaching-reps", kwargs={"tenant": tenant_a.slug})).json()
    assert body["core_benchmark_categories"] == benchmark
    rows = {r["rep_id"]: r for r in body["reps"]}
    assert set(rows) == {"alpha-R1", "alpha-R2", "alpha-R3"}
    for key, rep in (("r1", "alpha-R1"), ("r2", "alpha-R2"), ("r3", "alpha-R3")):
        got, want = rows[rep], expected[key]
        assert got["customers"] == want["customers"]
        assert got["core_customers"] == want["core_customers"]
        assert got["revenue"] == cents(want["revenue"])
        assert got["net_profit"] == cents(want["net_profit"])
        if want["cost_to_serve_per_1000"] is None:
            assert got["cost_to_serve_per_1000"] is None
        else:
            assert got["cost_to_serve_per_1000"] == cents(want["cost_to_serve_per_1000"])
        assert got["core_share_revenue"] == (
            None if want["core_share_revenue"] is None else pytest.approx(want["core_share_revenue"], abs=1e-6)
        )
        for k in ("moved_up", "moved_down", "into_core", "out_of_core"):
            assert got["migration"][k] == want[k], (rep, k)
        assert got["migration"]["net_profit_into_core"] == cents(want["net_profit_into_core"])
        assert got["migration"]["net_profit_out_of_core"] == cents(want["net_profit_out_of_core"])
        assert got["core_below_benchmark"] == want["core_below_benchmark"]
    # The rep with no customers: a clear empty row, not an error, and not part of the median.
    empty = rows["alpha-R3"]
    assert empty["customers"] == 0 and empty["revenue"] == "0.00" and empty["net_margin_pct"] is None
    assert body["median"]["customers"] == median["customers"]
    assert body["median"]["revenue"] == cents(median["revenue"])
    assert body["median"]["net_profit"] == cents(median["net_profit"])
    assert body["median"]["migration"]["moved_down"] == median["moved_down"]
    assert body["median"]["rep_id"] is None


def test_coaching_points_name_the_figures_furthest_from_the_median(tenant_a):
    build(tenant_a)
    body = api_as(tenant_a.manager).get(reverse("api-coaching-reps", kwargs={"tenant": tenant_a.slug})).json()
    rows = {r["rep_id"]: r for r in body["reps"]}
    # R1 has a customer that left core and one that moved down more than R2: those are the points.
    r1 = " ".join(rows["alpha-R1"]["coaching_points"])
    assert "left core" in r1 or "moved down" in r1
    assert len(rows["alpha-R1"]["coaching_points"]) <= 3
    assert rows["alpha-R3"]["coaching_points"] == []


def test_a_rep_sees_only_their_row_and_the_median(tenant_a):
    run, customers, _ = build(tenant_a)
    url = reverse("api-coaching-reps", kwargs={"tenant": tenant_a.slug})
    manager = api_as(tenant_a.manager).get(url).json()
    body = api_as(tenant_a.rep_user).get(url).json()
    assert [r["rep_id"] for r in body["reps"]] == ["alpha-R1"]
    assert body["median"] == manager["median"]
    assert "alpha-R2" not in str(body)
    # The page: the own row and the median, no other rep, no other rep's customer.
    page = login(tenant_a.rep_user).get(reverse("coaching", kwargs={"tenant": tenant_a.slug}))
    html = page.content.decode()
    assert page.status_code == 200 and "alpha-R1" in html and "alpha-R2" not in html and "coaching-median" in html
    # The export: own row and the median row only.
    export = login(tenant_a.rep_user).get(reverse("coaching", kwargs={"tenant": tenant_a.slug}), {"export": "csv"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["alpha-R1", "Team median"]
    assert rows[2][1] == ""  # the median row is named once (it read "Team median,Team median")
    assert rows[0].count("Core customers") == 1 and len(set(rows[0])) == len(rows[0])  # no column twice
    # The rep page: own page lists own customers only; another rep's page is 404.
    mine = login(tenant_a.rep_user).get(reverse("coaching-rep", kwargs={"tenant": tenant_a.slug, "rep_id": "alpha-R1"}))
    html = mine.content.decode()
    assert mine.status_code == 200 and "alpha-K1" in html and "alpha-K6" not in html and "alpha-K10" not in html
    mine_csv = login(tenant_a.rep_user).get(
        reverse("coaching-rep", kwargs={"tenant": tenant_a.slug, "rep_id": "alpha-R1"}), {"export": "csv"}
    )
    text = mine_csv.content.decode("utf-8-sig")
    assert "alpha-K1" in text and "alpha-K6" not in text and "alpha-C2" not in text
    other = login(tenant_a.rep_user).get(
        reverse("coaching-rep", kwargs={"tenant": tenant_a.slug, "rep_id": "alpha-R2"})
    )
    assert other.status_code == 404


def test_manager_pages_and_exports(tenant_a):
    build(tenant_a)
    client = login(tenant_a.manager)
    page = client.get(reverse("coaching", kwargs={"tenant": tenant_a.slug}))
    html = page.content.decode()
    assert page.status_code == 200 and "alpha-R1" in html and "alpha-R2" in html and "alpha-R3" in html
    sorted_page = client.get(reverse("coaching", kwargs={"tenant": tenant_a.slug}), {"sort": "-net_margin_pct"})
    assert sorted_page.status_code == 200
    xlsx = client.get(reverse("coaching", kwargs={"tenant": tenant_a.slug}), {"export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    headers = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert headers.count("Core customers") == 1 and len(set(headers)) == len(headers)
    empty = client.get(reverse("coaching-rep", kwargs={"tenant": tenant_a.slug, "rep_id": "alpha-R3"}))
    assert empty.status_code == 200 and "empty-book" in empty.content.decode()
    # Nothing to coach without a book (it read "No figure is 10% or more on the wrong side" beside $0).
    assert "nothing to compare until this rep has ranked customers" in empty.content.decode()
    assert "wrong side of the team median" not in empty.content.decode()


def test_before_a_published_run(tenant_a):
    body = api_as(tenant_a.manager).get(reverse("api-coaching-reps", kwargs={"tenant": tenant_a.slug})).json()
    assert body["run"] is None and body["reps"] == []
    page = login(tenant_a.manager).get(reverse("coaching", kwargs={"tenant": tenant_a.slug}))
    assert page.status_code == 200 and "no-run" in page.content.decode()


def test_reassignment_shows_at_once(tenant_a):
    from django_scopes import scopes_disabled

    _run, customers, _ = build(tenant_a)
    url = reverse("api-coaching-reps", kwargs={"tenant": tenant_a.slug})
    before = {r["rep_id"]: r["customers"] for r in api_as(tenant_a.manager).get(url).json()["reps"]}
    with scopes_disabled():
        customers["K6"].rep = tenant_a.rep
        customers["K6"].save()
    after = {r["rep_id"]: r["customers"] for r in api_as(tenant_a.manager).get(url).json()["reps"]}
    assert after["alpha-R1"] == before["alpha-R1"] + 1 and after["alpha-R2"] == before["alpha-R2"] - 1


def test_open_alerts_and_money_at_stake_per_rep(tenant_a):
    """The alerts still to work (open or acknowledged) on each rep's customers, against a naive count;
    done and dismissed ones do not count, and a rep without any has none."""
    from django_scopes import scopes_disabled

    from alerts.models import Alert

    run, customers, _reps = build(tenant_a)
    statuses = ("open", "acknowledged", "done", "dismissed", "open")
    with scopes_disabled():
        made = []
        for i, customer in enumerate(customers.values()):
            made.append(
                Alert.objects.create(
                    distributor=tenant_a.distributor,
                    kind="slipping",
                    severity="high",
                    key=f"{customer.pk}|customer|{customer.customer_id}",
                    customer=customer,
                    subject_type="customer",
                    subject=customer.customer_id,
                    raised_run=run,
                    last_run=run,
                    amount=Decimal("10.25") * (i + 1),
                    figures={},
                    message="m",
                    status=statuses[i % 5],
                )  # fmt: skip
            )
        want: dict = {}
        for a in made:
            if a.status in ("open", "acknowledged") and a.customer.rep_id:
                rep = a.customer.rep.rep_id
                count, money = want.get(rep, (0, Decimal(0)))
                want[rep] = (count + 1, money + a.amount)
    body = api_as(tenant_a.manager).get(reverse("api-coaching-reps", kwargs={"tenant": tenant_a.slug})).json()
    got = {r["rep_id"]: r["alerts"] for r in body["reps"]}
    assert want, "the hand-made alerts reach some rep"
    for rep, alerts in got.items():
        if rep in want:
            assert (alerts["open"], alerts["money_at_stake"]) == (want[rep][0], f"{want[rep][1]:.2f}")
        else:
            assert alerts is None
    page = login(tenant_a.manager).get(reverse("coaching", kwargs={"tenant": tenant_a.slug}))
    assert "Open alerts (money at stake)" in page.content.decode()


def test_the_rep_page_names_segments_as_every_page_does(tenant_a):
    """The rep's "Book by segment": "Service drain", not the key title-cased ("Service_Drain")."""
    build(tenant_a)
    page = login(tenant_a.manager).get(reverse("coaching-rep", kwargs={"tenant": tenant_a.slug, "rep_id": "alpha-R1"}))
    table = page.content.decode().split('id="rep-segments"', 1)[1].split("</table>", 1)[0]
    assert page.status_code == 200 and ">Service drain<" in table and ">Core<" in table
    assert "_" not in table.replace("segment-service_drain", "")


def test_the_page_puts_points_under_each_rep_and_the_median_under_the_same_columns(tenant_a):
    """Each rep's coaching points are a row across the table under their figures, and the team median
    is the table's footer: its label spans Rep and Name, then one cell per column of the header."""
    import re

    build(tenant_a)
    html = login(tenant_a.manager).get(reverse("coaching", kwargs={"tenant": tenant_a.slug})).content.decode()
    table = html[html.index('id="coaching-table"') : html.index("</table>")]
    heads = re.findall(r"<th [^>]*scope=\"col\"", table)
    foot = table[table.index('<tfoot id="coaching-median">') :]
    assert 'colspan="2"' in foot and "Team median" in foot
    assert len(re.findall(r"<td", foot)) + 2 == len(heads)
    api = api_as(tenant_a.manager).get(reverse("api-coaching-reps", kwargs={"tenant": tenant_a.slug})).json()
    points = next(r for r in api["reps"] if r["rep_id"] == "alpha-R1")["coaching_points"]
    assert points
    for point in points:
        assert f"<li>{point}</li>".replace("'", "&#x27;") in table
    assert f'colspan="{len(heads) - 1}"' in table  # the points row spans every column after Rep
