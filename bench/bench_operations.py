"""Operations benchmark (issue 17): the supplier-cut scenario and the operations figures on a demo
distributor.

    python -m bench.bench_operations [--lines 1000000] [--customers 50000] [--repeat 5] [--copy-lines]
        [--database stratify_bench_ops] [--reuse] [--explain] [--cut-only] [--ways lines,tables]
    make bench-operations ARGS="--lines 10000000 --customers 200000 --copy-lines"

On a scratch database (`--database`, default `stratify_bench_ops`, on the DATABASE_URL server:
dropped, created, migrated; dev data is never touched): the demo distributor (imports/demo.py, loaded
through the import's write path, with its inventory; with `--copy-lines` its reps, partners,
products, customers and inventory the same way but its invoice lines COPYed straight into the table
chunk by chunk and their summaries built once at the end: the import path refreshes the summaries of
every customer a chunk names, so each chunk re-reads the lines loaded before it), and a published run
whose scores are drawn at random (the cut's SQL does not
care how customers got their segment; a real run at this size is `bench_stratify`'s subject). Then:

1. the run's cut tables (`operations.services.cut_tables_write`, what the `cut_tables` job after a run
   does), written once if the run has none; then the cut impact (`operations.selectors.cut_impact`, what
   the API and the page call) for the largest supplier, the three largest, a brand, ten products and a
   supplier with ten products, each `--repeat` times (median and worst) both ways (`--ways`): reading
   the run's cut tables and reading the window's lines (what it did before the tables, and still does
   for a run without them), interleaved, their results asserted equal; the first cut after publishing
   (cold caches) both ways; and through the API (`GET .../operations/cut-impact/?supplier=...`, full
   middleware stack) both ways;
2. once each (cold, what a page computes before caching it per run): core demand per product and per
   category, scarce stock with its allocation, stock / non-stock lists, deliveries, consolidation and
   the lookalike list.

`--reuse` measures the data a previous run built in the same database (migrated first; build 10M lines
once, measure many times; `--cut-only` skips the other figures); `--explain` prints EXPLAIN (ANALYZE,
BUFFERS) of the largest supplier's cut statements, each way.

Target (issue 17): a supplier-cut scenario answers in under a second at 10M lines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from datetime import timedelta

import numpy as np

from bench.common import django_setup, migrate, print_table, recreate_database, scratch_database_url

SLUG = "bench-ops"
SEGMENTS = np.array(["core", "service_drain", "opportunistic", "marginal", "lapsed"], dtype=object)
TARGET_SECONDS = 1.0


def load_copied(*, distributor, demo) -> None:
    """The demo distributor as `load_demo` writes it, except the invoice lines: COPYed chunk by chunk
    (ids resolved to the tenant's pks in pandas), then the line summaries built once for the tenant
    (`sales.summaries.refresh_tenant`, what the import keeps up to date). No interactions (no
    operations figure reads them)."""
    from django.db import connection
    from django_scopes import scope

    from channels.models import Partner
    from imports.loading import copy_text
    from imports.services import load_frame
    from sales import summaries
    from sales.models import Customer, InvoiceLine, Product, Rep

    with scope(distributor=distributor):
        reps = demo.reps_frame()
        Rep.objects.bulk_create([Rep(distributor=distributor, **row) for row in reps.to_dict("records")])
        for kind, frame in (
            ("partners", demo.partners_frame()),
            ("products", demo.products_frame()),
            ("customers", demo.customers_frame()),
        ):
            load_frame(distributor=distributor, kind=kind, frame=frame)
        pks = {
            column: dict(model.objects.filter(distributor=distributor).values_list(key, "pk"))
            for column, model, key in (
                ("customer_id", Customer, "customer_id"),
                ("product_id", Product, "product_id"),
                ("rep_id", Rep, "rep_id"),
                ("partner_id", Partner, "partner_id"),
            )
        }
        done, start = 0, time.perf_counter()
        for chunk in demo.line_chunks():
            frame = chunk.copy()
            for column, mapping in pks.items():
                frame[column] = frame[column].map(mapping).astype("Int64")
            frame["invoice_date"] = frame["invoice_date"].to_numpy().astype("datetime64[D]").astype(str)
            frame.insert(0, "distributor_id", int(distributor.pk))
            sql = (
                f"COPY {InvoiceLine._meta.db_table} ({', '.join(frame.columns)}) FROM STDIN"
                " (FORMAT csv, FORCE_NOT_NULL (ship_method, branch, channel))"
            )
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                copy.write(copy_text(frame))
            done += len(frame)
            print(f"  COPY {done:,} / {demo.n_lines:,} lines ({time.perf_counter() - start:.0f} s)", flush=True)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {InvoiceLine._meta.db_table}")
        start = time.perf_counter()
        summaries.refresh_tenant(distributor)
        print(f"  line summaries in {time.perf_counter() - start:.0f} s", flush=True)
        load_frame(distributor=distributor, kind="inventory", frame=demo.inventory_frame())


def build(*, customers: int, lines: int, seed: int, copy_lines: bool = False):
    from django.db import connection
    from django.utils import timezone
    from django_scopes import scope, scopes_disabled

    from bench.common import bench_tenant
    from imports.demo import DemoDistributor, load_demo
    from sales.models import Customer
    from segments.models import CustomerScore, StratificationProfile, StratificationRun

    rng = np.random.default_rng(seed)
    distributor, manager = bench_tenant(SLUG, "Operations Benchmark Distributor")
    demo = DemoDistributor(customers=customers, lines=lines, seed=seed)
    start = time.perf_counter()
    if copy_lines:
        load_copied(distributor=distributor, demo=demo)
    else:
        load_demo(distributor=distributor, demo=demo)
    print(f"Loaded {lines:,} lines, {customers:,} customers in {time.perf_counter() - start:.1f}s", flush=True)
    with scopes_disabled(), scope(distributor=distributor):
        run = StratificationRun.objects.create(
            distributor=distributor,
            status="succeeded",
            as_of=demo.end_date,
            published_at=timezone.now(),
            settings={"window_days": 365, "value_top_share": 0.3, "profit_top_share": 0.3},
        )
        pks = list(Customer.objects.filter(distributor=distributor).values_list("pk", flat=True))
        segment = SEGMENTS[rng.choice(5, len(pks), p=[0.2, 0.15, 0.2, 0.3, 0.15])]
        CustomerScore.objects.bulk_create(
            [
                CustomerScore(
                    distributor=distributor,
                    run=run,
                    customer_id=pk,
                    segment=segment[i],
                    net_profit=float(rng.normal(500, 2000)),
                    share_of_wallet=float(rng.random()) if i % 3 else None,
                    explanation={},
                )
                for i, pk in enumerate(pks)
            ],
            batch_size=5000,
        )
        StratificationProfile.objects.update_or_create(distributor=distributor, defaults={"current_run": run})
        # Each score's revenue is the customer's window revenue, as a real run stores it.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE segments_customerscore s SET revenue = w.revenue FROM (SELECT customer_id,"
                " sum(revenue) AS revenue FROM sales_invoiceline WHERE distributor_id = %s AND invoice_date"
                " BETWEEN %s AND %s GROUP BY customer_id) w WHERE s.run_id = %s AND s.customer_id = w.customer_id",
                [distributor.pk, demo.end_date - timedelta(days=364), demo.end_date, run.pk],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return distributor, manager, run


@contextlib.contextmanager
def reading(way: str):
    """Measure the cut as it reads "tables" (the run's cut tables, what it does when they are written)
    or "lines" (the window's lines, what it did before them and still does until they are written)."""
    from operations import selectors

    if way == "tables":
        yield
        return
    kept = selectors.cut_tables
    selectors.cut_tables = lambda **kwargs: None
    try:
        yield
    finally:
        selectors.cut_tables = kept


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def explain(fn) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT `fn` runs (JIT off, as `operations.selectors` runs them)."""
    from django.db import connection

    statements = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        fn()
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        for sql, params in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n" + sql[:300] + ("..." if len(sql) > 300 else ""))
            print("\n".join(row[0] for row in cursor.fetchall()), flush=True)
        cursor.execute("RESET jit")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="measure the data a previous run built")
    parser.add_argument("--database", default="stratify_bench_ops", help="the scratch database's name")
    parser.add_argument("--copy-lines", action="store_true", help="COPY the lines, summaries built once")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) the cut's statements")
    parser.add_argument("--build-only", action="store_true", help="build the data, measure nothing")
    parser.add_argument("--cut-only", action="store_true", help="measure the cut impact only")
    parser.add_argument(
        "--ways",
        default="lines,tables",
        help="how the cut reads, measured interleaved: tables (the run's cut tables), lines (the window's lines)",
    )
    args = parser.parse_args(argv)

    url = scratch_database_url(os.environ.get("DATABASE_URL"), args.database)
    if not args.reuse:
        print(f"Scratch database {url}: recreating and migrating...", flush=True)
        recreate_database(url)
        migrate(url)
    else:
        migrate(url)  # the data may predate a migration (e.g. the cut tables)
    django_setup(url)
    from django.db.models import Count, Sum
    from django.test import Client
    from django_scopes import scope

    from operations import selectors as ops
    from sales.models import InvoiceLine, Product

    ways = [way.strip() for way in args.ways.split(",") if way.strip()]
    if args.reuse:
        from accounts.models import Distributor, User
        from segments.selectors import published_runs

        distributor = Distributor.objects.get(slug=SLUG)
        manager = User.objects.get(username=f"{SLUG}-manager")
        with scope(distributor=distributor):
            run, _ = published_runs(distributor=distributor)
    else:
        distributor, manager, run = build(
            customers=args.customers, lines=args.lines, seed=args.seed, copy_lines=args.copy_lines
        )
    if args.build_only:
        return 0
    rows = []
    with scope(distributor=distributor):
        suppliers = list(
            InvoiceLine.objects.filter(distributor=distributor)
            .values("product__supplier_id")
            .annotate(n=Count("id"), revenue=Sum("revenue"))
            .order_by("-n")
            .values_list("product__supplier_id", "n")[:3]
        )
        total = InvoiceLine.objects.filter(distributor=distributor).count()
        brand = Product.objects.filter(distributor=distributor).exclude(brand="").values_list("brand", flat=True)[0]
        products = list(Product.objects.filter(distributor=distributor).values_list("product_id", flat=True)[:10])
        choices = [
            (f"largest supplier ({suppliers[0][1] / total:.0%} of lines)", ops.CutChoice(supplier=[suppliers[0][0]])),
            ("three largest suppliers", ops.CutChoice(supplier=[s for s, _ in suppliers])),
            ("one brand", ops.CutChoice(brand=[brand])),
            ("ten products", ops.CutChoice(product=products)),
            ("second supplier + ten products", ops.CutChoice(supplier=[suppliers[1][0]], product=products)),
        ]
        from django.core.cache import cache

        from operations.selectors import cut_tables
        from operations.services import cut_tables_write

        if cut_tables(distributor=distributor, run=run) is None:
            start = time.perf_counter()
            written = cut_tables_write(distributor=distributor, run=run)
            rows.append(
                [
                    "cut tables written (the cut_tables job after a run)",
                    f"{(time.perf_counter() - start) * 1000:.0f}",
                    "",
                    f"{written.pairs:,} pairs, {written.core_products:,} core products",
                    "once per run",
                ]
            )

        def cold() -> None:
            """As after a publication: no per-run cache filled, in the shared cache or this process."""
            cache.clear()
            ops._MEMO.clear()

        for way in ways:
            with reading(way):
                cold()
                if args.explain:
                    print(f"\n=== {way} ===")
                    explain(lambda: ops.cut_impact(distributor=distributor, run=run, choice=choices[0][1]))
                    cold()
                start = time.perf_counter()
                ops.cut_impact(distributor=distributor, run=run, choice=choices[0][1])
                rows.append(
                    [
                        f"cut impact, first after publishing ({way})",
                        f"{(time.perf_counter() - start) * 1000:.0f}",
                        "",
                        "",
                        "cold, once",
                    ]
                )
        results = {}
        for label, choice in choices:
            # The ways interleaved, repeat by repeat: the machine's load moves between them alike.
            times = {way: [] for way in ways}
            for _ in range(args.repeat):
                for way in ways:
                    with reading(way):
                        start = time.perf_counter()
                        results[way] = ops.cut_impact(distributor=distributor, run=run, choice=choice)
                        times[way].append(time.perf_counter() - start)
            if len(ways) == 2:
                assert results[ways[0]] == results[ways[1]], f"{label}: the tables and the lines disagree"
            result = results[ways[-1]]
            for way in ways:
                median = statistics.median(times[way])
                rows.append(
                    [
                        f"cut impact: {label} ({way})",
                        f"{median * 1000:.0f}",
                        f"{max(times[way]) * 1000:.0f}",
                        f"{len(result['core_customers']):,} core / {result['total']['customers']:,} customers",
                        "< 1 s" if median < TARGET_SECONDS else "MISSED",
                    ]
                )
        for label, fn in (
            ()
            if args.cut_only
            else (
                (
                    "core demand per product",
                    lambda: ops.core_demand(distributor=distributor, run=run, dimension="product"),
                ),
                (
                    "core demand per category",
                    lambda: ops.core_demand(distributor=distributor, run=run, dimension="category"),
                ),
                ("scarce stock + allocation", lambda: ops.scarce_stock(distributor=distributor, run=run)),
                ("stock / non-stock", lambda: ops.stock_recommendations(distributor=distributor, run=run)),
                ("deliveries", lambda: ops.deliveries(distributor=distributor, run=run)),
                ("consolidation", lambda: ops.consolidation(distributor=distributor, run=run)),
                ("lookalikes", lambda: ops.lookalikes(distributor=distributor, run=run)),
            )
        ):
            start = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - start
            size = len(out[1]) if isinstance(out, tuple) else (len(out) if isinstance(out, list) else "")
            rows.append([label, f"{seconds * 1000:.0f}", "", f"{size:,} rows" if size != "" else "", "cold, once"])
    client = Client()
    client.force_login(manager)
    path = f"/api/v1/tenants/{SLUG}/operations/cut-impact/?supplier={suppliers[0][0]}"
    client.get(f"/api/v1/tenants/{SLUG}/operations/settings/")  # the process's first request imports the URLconf
    for way in ways:
        with reading(way):
            cold()
            start = time.perf_counter()
            assert client.get(path).status_code == 200
            rows.append(
                [
                    f"cut impact API, first after publishing ({way})",
                    f"{(time.perf_counter() - start) * 1000:.0f}",
                    "",
                    "",
                    "cold, once",
                ]
            )
    times = {way: [] for way in ways}
    for _ in range(args.repeat):
        for way in ways:
            with reading(way):
                start = time.perf_counter()
                response = client.get(path)
                times[way].append(time.perf_counter() - start)
                assert response.status_code == 200
    for way in ways:
        median = statistics.median(times[way])
        rows.append(
            [
                f"cut impact API: largest supplier ({way})",
                f"{median * 1000:.0f}",
                f"{max(times[way]) * 1000:.0f}",
                f"{len(response.content) / 1e6:.1f} MB of JSON",
                "< 1 s" if median < TARGET_SECONDS else "MISSED",
            ],
        )
    print(f"\nOperations at {args.lines:,} lines, {args.customers:,} customers (PostgreSQL):")
    print_table(["figure", "median ms", "worst ms", "size", ""], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
