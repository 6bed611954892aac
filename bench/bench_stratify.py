"""Stratification benchmark: the whole stratification job against DuckDB aggregating the same lines.

    python -m bench.bench_stratify [--lines 1000000] [--customers 50000] [--seed 7]
    make bench-stratify ARGS="--lines 10000000"

In one run, on a scratch database (`stratify_bench_strat` on the DATABASE_URL server, dropped, created
and migrated here; dev data is never touched):
1. generates N invoice lines with numpy (invoices of 1-8 lines, skewed customers and products, returns,
   special orders, ship methods, days to pay, some lapsed customers, 2.5 years of history), COPYs
   them straight into sales_invoiceline for a fresh tenant, VACUUM ANALYZE, and builds the line
   summaries an import keeps (`sales.summaries`; timed and printed, not part of the job);
2. exports the tenant's lines (natural keys, product category) to Parquet (not timed);
3. (a) baseline: DuckDB computes the same per-customer aggregates and deliveries from the Parquet file;
4. (b) the job: in a child process, `segments.services.run_request(publish=True, dispatch=False)` then
   `job_execute` (the task's body), timed from the task's start to published results, with the child's
   peak RSS;
and prints both times, the ratio, the peak memory and the job's phases. Sanity check: active customers
and window revenue must agree between DuckDB and the run.

5. (issue 15) the `raise_alerts` job the publish enqueued, run in the same child, timed, with its
   compute and write phases, what it did to the tenant's alerts (new, unchanged, rewritten...) and its
   time over the run's. On a fresh database every alert is new; a `--reuse` run publishes a run over
   the same lines, so it raises the same alerts again (the usual case after the first run).

Targets at 10M lines: the job within 5x the DuckDB baseline; peak memory < 1 GiB; raising the alerts
takes less than the stratification job.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from bench.common import (
    ROOT,
    Timer,
    django_setup,
    emit_result,
    fmt_int,
    migrate,
    pg_connect,
    print_table,
    recreate_database,
    run_child,
    scratch_database_url,
)

AS_OF = date(2026, 6, 30)
WINDOW_DAYS = 365
TARGET_RATIO = 5.0
TARGET_PEAK_MIB = 1024
BENCH_DIR = ROOT / "var" / "bench"
SLUG = "bench-strat"
SHIP_METHODS = np.array(["truck", "parcel", "will_call", "ltl", ""], dtype=object)
LINE_COLUMNS = (
    "distributor_id",
    "invoice_id",
    "line_no",
    "invoice_date",
    "customer_id",
    "product_id",
    "quantity",
    "revenue",
    "cost",
    "ship_method",
    "branch",
    "channel",
    "special_order",
    "days_to_pay",
)


# --- data ---------------------------------------------------------------------------------------------
def make_catalog(distributor, *, customers: int, products: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Customers and products through the ORM (small); returns their pks in creation order."""
    from sales.models import Customer, Product

    potentials = rng.lognormal(10, 1, customers).round(2)
    has_potential = rng.random(customers) < 0.6
    Customer.objects.bulk_create(
        [
            Customer(
                distributor=distributor,
                customer_id=f"C{i:07d}",
                name=f"Customer {i}",
                potential_annual_spend=Decimal(str(potentials[i])) if has_potential[i] else None,
            )
            for i in range(customers)
        ],
        batch_size=5000,
    )
    categories = [f"Category {k:02d}" for k in range(24)] + [""]
    Product.objects.bulk_create(
        [
            Product(distributor=distributor, product_id=f"P{i:06d}", category=categories[i % len(categories)])
            for i in range(products)
        ],
        batch_size=5000,
    )
    customer_pks = np.array(
        Customer.objects.filter(distributor=distributor).order_by("customer_id").values_list("pk", flat=True)
    )
    product_pks = np.array(
        Product.objects.filter(distributor=distributor).order_by("product_id").values_list("pk", flat=True)
    )
    return customer_pks, product_pks


def _skewed(rng, n: int, size: int, power: float) -> np.ndarray:
    """Indexes in [0, n) with a power-law skew (a few big customers / best-selling products)."""
    weights = 1.0 / np.arange(1, n + 1) ** power
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(size)), n - 1)


def generate_chunk(rng, *, lines: int, first_invoice: int, customer_pks, product_pks):
    """About `lines` lines (whole invoices) as numeric numpy columns: money in cents / 1e-4 units, dates
    as ages in days, ship methods as codes. DuckDB turns them into CSV text (see `write_csv`)."""
    sizes = 1 + rng.poisson(2.5, int(lines / 3.5) + 1).clip(0, 7)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), lines) + 1]
    n_invoices = len(sizes)
    customer = _skewed(rng, len(customer_pks), n_invoices, 0.7)
    age = rng.integers(0, 2 * WINDOW_DAYS + 180, n_invoices)
    lapsed = customer % 20 == 7  # 5% of customers bought only before the window
    age[lapsed] = WINDOW_DAYS + age[lapsed] % (WINDOW_DAYS + 180)
    ship = rng.integers(0, len(SHIP_METHODS), n_invoices)
    pays = np.where(rng.random(n_invoices) < 0.7, rng.integers(0, 120, n_invoices), -1)

    invoice = np.repeat(np.arange(first_invoice, first_invoice + n_invoices), sizes)[:lines]
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)[:lines]
    n = len(invoice)
    inv_index = invoice - first_invoice
    product = _skewed(rng, len(product_pks), n, 0.9)
    quantity = rng.integers(1, 25, n)
    price_cents = np.exp(7.0 + (product % 97) / 30.0).astype("int64")
    revenue_cents = quantity * price_cents
    cost_units = (revenue_cents * 100 * rng.uniform(0.55, 0.95, n)).astype("int64")  # 1e-4 units
    sign = np.where(rng.random(n) < 0.02, -1, 1)  # 2% returns
    return {
        "invoice": invoice,
        "line_no": np.arange(n) - starts + 1,
        "age": age[inv_index],
        "customer_pk": customer_pks[customer[inv_index]],
        "product_pk": product_pks[product],
        "quantity": quantity * sign,
        "revenue_cents": revenue_cents * sign,
        "cost_units": cost_units * sign,
        "ship": ship[inv_index],
        "special": rng.random(n) < 0.03,
        "days_to_pay": pays[inv_index],
    }


def write_csv(columns: dict, path, *, distributor_id: int) -> None:
    """The chunk as CSV rows of sales_invoiceline (LINE_COLUMNS), formatted by DuckDB (fast, threaded)."""
    import duckdb
    import pandas as pd

    chunk = pd.DataFrame(columns)  # noqa: F841  (scanned by DuckDB by name)
    methods = ", ".join(f"'{m}'" for m in SHIP_METHODS)
    duck = duckdb.connect()
    duck.execute(
        f"""COPY (
            SELECT {int(distributor_id)}, 'INV' || lpad(invoice::VARCHAR, 10, '0'), line_no,
                   DATE '{AS_OF}' - age::INTEGER, customer_pk, product_pk, quantity,
                   (revenue_cents::DECIMAL(18, 0) / 100)::DECIMAL(18, 2),
                   (cost_units::DECIMAL(18, 0) / 10000)::DECIMAL(18, 4),
                   list_extract([{methods}], ship::INTEGER + 1), '', '',
                   CASE WHEN special THEN 't' ELSE 'f' END,
                   CASE WHEN days_to_pay >= 0 THEN days_to_pay END
            FROM chunk) TO '{path}' (FORMAT csv, HEADER false)"""
    )
    duck.close()


def load_lines(url: str, *, lines: int, customers: int, seed: int) -> dict:
    """Catalog + COPY of `lines` lines for a fresh tenant; VACUUM ANALYZE. Returns counts and timings."""
    from django.db import connection
    from django_scopes import scopes_disabled

    from bench.common import bench_tenant

    rng = np.random.default_rng(seed)
    with scopes_disabled():
        distributor, _ = bench_tenant(SLUG, "Stratification benchmark")
        customer_pks, product_pks = make_catalog(
            distributor, customers=customers, products=max(1000, customers // 2), rng=rng
        )
    connection.close()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / "stratify-chunk.csv"
    written, invoice = 0, 0
    chunk = 2_000_000
    with Timer() as timer, pg_connect(url) as conn, conn.cursor() as cursor:
        # The generated rows reference existing customers and products by construction; Django's FKs are
        # DEFERRABLE INITIALLY DEFERRED, so COMMIT would otherwise check them one row at a time.
        cursor.execute("SET session_replication_role = replica")
        while written < lines:
            columns = generate_chunk(
                rng,
                lines=min(chunk, lines - written),
                first_invoice=invoice,
                customer_pks=customer_pks,
                product_pks=product_pks,
            )
            invoice = int(columns["invoice"].max()) + 1
            write_csv(columns, path, distributor_id=distributor.pk)
            with (
                cursor.copy(
                    f"COPY sales_invoiceline ({', '.join(LINE_COLUMNS)}) FROM STDIN "
                    "(FORMAT csv, FORCE_NOT_NULL (ship_method, branch, channel))"
                ) as copy,
                open(path, "rb") as handle,
            ):
                while block := handle.read(8 << 20):
                    copy.write(block)
            conn.commit()
            written += len(columns["invoice"])
            print(f"  copied {fmt_int(written)} lines ({timer_so_far(timer):.0f} s)", flush=True)
    path.unlink(missing_ok=True)
    with Timer() as vacuum, pg_connect(url, autocommit=True) as conn:
        # The import ANALYZEs the customers and products it creates (its merge); so does the load.
        conn.execute("VACUUM ANALYZE sales_invoiceline, sales_customer, sales_product")
    # What an import does after writing lines (part of the load, not of the job): the line summaries.
    from sales.summaries import refresh_tenant

    with Timer() as summaries:
        refresh_tenant(distributor)
    with pg_connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE sales_customerinvoice, sales_customerproductrecency, sales_customercategory")
    return {
        "distributor_id": distributor.pk,
        "copy_seconds": timer.seconds,
        "vacuum_seconds": vacuum.seconds,
        "summaries_seconds": summaries.seconds,
    }


def timer_so_far(timer: Timer) -> float:
    return time.perf_counter() - timer.start


def export_parquet(url: str, distributor_id: int) -> str:
    """The tenant's lines with natural keys and category, as Parquet (through a CSV and DuckDB)."""
    import duckdb

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = BENCH_DIR / "stratify-lines.csv", BENCH_DIR / "stratify-lines.parquet"
    query = f"""COPY (SELECT l.invoice_id, l.invoice_date, c.customer_id, p.product_id, p.category, l.quantity,
                             l.revenue, l.cost, l.ship_method, l.special_order, l.days_to_pay,
                             p.brand, p.supplier_id, l.branch, l.channel, c.customer_class
                      FROM sales_invoiceline l JOIN sales_customer c ON c.id = l.customer_id
                      JOIN sales_product p ON p.id = l.product_id WHERE l.distributor_id = {int(distributor_id)})
                TO STDOUT (FORMAT csv, HEADER)"""
    with pg_connect(url) as conn, conn.cursor() as cursor, open(csv_path, "wb") as out, cursor.copy(query) as copy:
        for data in copy:
            out.write(data)
    types = {
        "invoice_id": "VARCHAR",
        "invoice_date": "DATE",
        "customer_id": "VARCHAR",
        "product_id": "VARCHAR",
        "category": "VARCHAR",
        "quantity": "DECIMAL(18,4)",
        "revenue": "DECIMAL(18,4)",
        "cost": "DECIMAL(18,4)",
        "ship_method": "VARCHAR",
        "special_order": "BOOLEAN",
        "days_to_pay": "INTEGER",
        "brand": "VARCHAR",
        "supplier_id": "VARCHAR",
        "branch": "VARCHAR",
        "channel": "VARCHAR",
        "customer_class": "VARCHAR",
    }
    duck = duckdb.connect()
    duck.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', header=true, columns={types!r}, nullstr='', quote='\"')) "
        f"TO '{parquet_path}' (FORMAT parquet)"
    )
    duck.close()
    csv_path.unlink()
    return str(parquet_path)


# --- (a) DuckDB baseline --------------------------------------------------------------------------------
def duckdb_baseline(parquet_path: str) -> dict:
    """The same per-customer aggregates and deliveries as segments.aggregates, by DuckDB from Parquet.

    Written the fastest way we found for DuckDB (a fair baseline, not a strawman): the distinct counts
    come from pre-grouped distinct sets instead of `count(DISTINCT ...) FILTER (...)`, which is ~5x
    slower here (17.7 s against 3.5 s at 10M lines)."""
    import duckdb

    window_start = AS_OF - timedelta(days=WINDOW_DAYS - 1)
    prior_start = AS_OF - timedelta(days=2 * WINDOW_DAYS - 1)
    w = f"invoice_date >= DATE '{window_start}'"
    p = f"(invoice_date < DATE '{window_start}' AND invoice_date >= DATE '{prior_start}')"
    kept = f"{w} AND quantity >= 0 AND revenue >= 0"
    aggregates = f"""
        WITH lines AS (SELECT * FROM read_parquet('{parquet_path}') WHERE invoice_date <= DATE '{AS_OF}'),
        kept AS (SELECT customer_id, invoice_id, product_id, category, date_trunc('month', invoice_date) AS month
                 FROM lines WHERE {kept}),
        orders AS (SELECT customer_id, count(*) AS orders
                   FROM (SELECT DISTINCT customer_id, invoice_id FROM kept) GROUP BY 1),
        products AS (SELECT customer_id, count(*) AS products
                     FROM (SELECT DISTINCT customer_id, product_id FROM kept) GROUP BY 1),
        categories AS (SELECT customer_id, count(*) AS categories
                       FROM (SELECT DISTINCT customer_id, category FROM kept WHERE category <> '') GROUP BY 1),
        months AS (SELECT customer_id, count(*) AS active_months
                   FROM (SELECT DISTINCT customer_id, month FROM kept) GROUP BY 1),
        sums AS (
            SELECT customer_id,
                   count(*) FILTER (WHERE {w}) AS window_lines,
                   count(*) FILTER (WHERE {p}) AS prior_lines,
                   coalesce(sum(revenue) FILTER (WHERE {w}), 0) AS revenue,
                   coalesce(sum(revenue) FILTER (WHERE {p}), 0) AS prior_revenue,
                   coalesce(sum(revenue - cost) FILTER (WHERE {w}), 0) AS gross_margin,
                   count(*) FILTER (WHERE {w} AND (quantity < 0 OR revenue < 0)) AS return_lines,
                   count(*) FILTER (WHERE {w} AND special_order) AS special_order_lines,
                   coalesce(sum(revenue * days_to_pay) FILTER (WHERE {w}), 0) AS ar_base,
                   min(invoice_date) AS first_date,
                   max(invoice_date) FILTER (WHERE {w}) AS last_date
            FROM lines GROUP BY customer_id
            HAVING count(*) FILTER (WHERE {w} OR {p}) > 0)
        SELECT sums.*, coalesce(orders, 0) AS orders, coalesce(products, 0) AS products,
               coalesce(categories, 0) AS categories, coalesce(active_months, 0) AS active_months
        FROM sums LEFT JOIN orders USING (customer_id) LEFT JOIN products USING (customer_id)
                  LEFT JOIN categories USING (customer_id) LEFT JOIN months USING (customer_id)"""
    deliveries = f"""
        SELECT customer_id, ship_method, count(*) AS deliveries
        FROM (SELECT DISTINCT customer_id, invoice_id, coalesce(ship_method, '') AS ship_method
              FROM read_parquet('{parquet_path}') WHERE {kept} AND invoice_date <= DATE '{AS_OF}')
        GROUP BY 1, 2"""
    duck = duckdb.connect()
    with Timer() as timer:
        agg = duck.execute(aggregates).df()
        dl = duck.execute(deliveries).df()
    duck.close()
    active = agg[agg["window_lines"] > 0]
    return {
        "seconds": timer.seconds,
        "customers": len(agg),
        "active": len(active),
        "revenue": str(sum((Decimal(str(v)) for v in active["revenue"]), Decimal(0)).quantize(Decimal("0.01"))),
        "deliveries": int(dl["deliveries"].sum()),
    }


def duckdb_profit_centers(parquet_path: str, segments: dict[str, str], settings: dict) -> dict:
    """The same profit centers by DuckDB, for a second ratio (the job's profit centers against the same
    work): each line's cost-to-serve (docs PROFIT_CENTERS.md section 1, with its k and m by window
    functions), then every line-level dimension and the customer class, each by segment, in one
    GROUPING SETS pass. DuckDB sums in DECIMAL/DOUBLE, not exact fractions: a timing baseline, checked
    only on the window's revenue."""
    import duckdb
    import pandas as pd

    window_start = AS_OF - timedelta(days=WINDOW_DAYS - 1)
    rates = settings.get("delivery_cost", {})
    rate = " ".join(f"WHEN '{k}' THEN {float(v)}" for k, v in rates.items())
    rate = (
        f"CASE ship_method {rate} ELSE {float(settings['default_delivery_cost'])} END"
        if rates
        else str(float(settings["default_delivery_cost"]))
    )
    dims = ["category", "brand", "supplier_id", "product_id", "branch", "channel", "ship_method", "customer_class"]
    sql = f"""
        WITH l AS (
            SELECT *, CASE WHEN quantity < 0 OR revenue < 0 THEN 1 ELSE 0 END AS ret
            FROM read_parquet('{parquet_path}')
            WHERE invoice_date >= DATE '{window_start}' AND invoice_date <= DATE '{AS_OF}'),
        w AS (
            SELECT l.*, s.segment,
                   sum(1 - ret) OVER (PARTITION BY l.customer_id, invoice_id) AS k,
                   sum(1 - ret) OVER (PARTITION BY l.customer_id, invoice_id, ship_method) AS m
            FROM l JOIN segments s ON s.customer_id = l.customer_id),
        c AS (
            SELECT w.*, {float(settings["cost_per_line"])} + ret * {float(settings["cost_per_return"])}
                   + CASE WHEN special_order THEN {float(settings["cost_per_special_order"])} ELSE 0 END
                   + coalesce(revenue * days_to_pay, 0) / 365 * {float(settings["ar_carrying_rate"])}
                   + CASE WHEN ret = 0 THEN {float(settings["cost_per_order"])} / k + ({rate}) / m ELSE 0 END AS cts
            FROM w)
        SELECT {", ".join(dims)}, segment, count(DISTINCT customer_id) AS customers, count(*) AS lines,
               sum(revenue) AS revenue, sum(revenue - cost) AS gross_margin, sum(cts) AS cost_to_serve
        FROM c GROUP BY GROUPING SETS ({", ".join(f"({d}, segment)" for d in dims)}, (segment))"""
    duck = duckdb.connect()
    duck.register("segments", pd.DataFrame({"customer_id": list(segments), "segment": list(segments.values())}))
    with Timer() as timer:
        result = duck.execute(sql).df()
    duck.close()
    totals = result[result[dims].isna().all(axis=1)]
    return {"seconds": timer.seconds, "rows": len(result), "revenue": f"{totals['revenue'].sum():.2f}"}


# --- (b) the job, in a child process ----------------------------------------------------------------------
def child_job() -> None:
    """Runs in the child: one published run of the bench tenant, timed from the task's start."""
    import django

    django.setup()
    from django_scopes import scope, scopes_disabled

    from accounts.models import Distributor
    from segments.models import ProfitCenter
    from segments.services import run_request
    from segments.services.profit import PROFIT_JOB_KIND
    from stratify.jobs.models import Job
    from stratify.jobs.registry import CUT_TABLES_JOB_KIND
    from stratify.jobs.services import job_execute

    with scopes_disabled():
        distributor = Distributor.objects.get(slug=SLUG)
    with scope(distributor=distributor):
        run = run_request(distributor=distributor, actor=None, as_of=AS_OF, publish=True, dispatch=False)
    start = time.perf_counter()
    job = job_execute(run.job_id)  # what the Celery task runs
    run_seconds = time.perf_counter() - start
    with scopes_disabled():
        run.refresh_from_db()
        profit_job = Job.objects.get(distributor=distributor, kind=PROFIT_JOB_KIND, params__run=run.number)
    if job is None or run.status != "succeeded" or run.published_at is None:
        print(f"run failed: {run.message or (job and job.message)}", file=sys.stderr)
        raise SystemExit(1)
    # The profit centers follow the run in a job of their own (issue 13 times both together).
    profit_start = time.perf_counter()
    profit_job = job_execute(profit_job.pk)
    profit_seconds = time.perf_counter() - profit_start
    if profit_job is None or profit_job.status != "succeeded":
        print(f"profit centers failed: {profit_job and profit_job.message}", file=sys.stderr)
        raise SystemExit(1)
    with scopes_disabled():
        rows = ProfitCenter.objects.filter(distributor=distributor, run=run).count()
    # Issue 15: the run's alerts, raised by the job its publish enqueued (no worker here: run in-process).
    with scopes_disabled():
        alert_job = Job.objects.filter(distributor=distributor, kind="raise_alerts").order_by("-pk").first()
    alerts = {"seconds": None}
    if alert_job is not None:
        start = time.perf_counter()
        job_execute(alert_job.pk)
        alerts = {"seconds": time.perf_counter() - start}
        with scopes_disabled():
            alert_job.refresh_from_db()
        result = alert_job.result or {}
        alerts.update(
            status=alert_job.status, counts=result.get("counts"), message=alert_job.message,
            timings=result.get("timings"),
            outcome={k: result[k] for k in ("new", "kept", "unchanged", "reopened", "quiet", "cleared") if k in result},
        )  # fmt: skip
    # Issue 17: the run's cut tables, written by the job the run enqueued (in-process too).
    with scopes_disabled():
        cut_job = Job.objects.filter(distributor=distributor, kind=CUT_TABLES_JOB_KIND).order_by("-pk").first()
    cut_tables = {"seconds": None}
    if cut_job is not None:
        start = time.perf_counter()
        cut_job = job_execute(cut_job.pk)
        cut_tables = {"seconds": time.perf_counter() - start, "status": cut_job.status, **(cut_job.result or {})}
    emit_result(
        {
            "alerts": alerts,
            "cut_tables": cut_tables,
            "seconds": run_seconds + profit_seconds,
            "run_seconds": run_seconds,
            "profit_seconds": profit_seconds,
            "profit_rows": rows,
            "profit_timings": profit_job.result.get("timings", {}),
            "run_id": run.pk,
            "segments": segments_of(run),
            "settings": run.settings,
            "timings": run.timings,
            "totals": run.totals,
            "vm_hwm_mib": vm_hwm_mib(),
        }
    )


def segments_of(run) -> dict[str, str]:
    """The run's segment of every active customer, by account number (for the DuckDB profit centers)."""
    from django_scopes import scopes_disabled

    from segments.models import CustomerScore

    with scopes_disabled():
        rows = CustomerScore.objects.filter(run=run).exclude(segment="lapsed")
        return dict(rows.values_list("customer__customer_id", "segment"))


def vm_hwm_mib() -> float:
    """This process's own peak RSS (VmHWM). ru_maxrss is not used: Linux carries it over exec from the
    parent that spawned us (the parent holds the DuckDB baseline's memory), so it over-reports."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db-name", default="stratify_bench_strat")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded scratch database (same --lines)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_job()
        return 0

    url = scratch_database_url(os.environ.get("DATABASE_URL"), args.db_name)
    print(f"Stratification benchmark: {fmt_int(args.lines)} lines, {fmt_int(args.customers)} customers, db {url}")
    if not args.reuse:
        recreate_database(url)
    migrate(url)  # a reused database gets the migrations added since it was loaded
    django_setup(url)
    from django_scopes import scopes_disabled

    from accounts.models import Distributor

    with scopes_disabled():
        existing = Distributor.objects.filter(slug=SLUG).first()
    if args.reuse and existing is not None:
        loaded = {"distributor_id": existing.pk, "copy_seconds": 0.0, "vacuum_seconds": 0.0, "summaries_seconds": 0.0}
    else:
        loaded = load_lines(url, lines=args.lines, customers=args.customers, seed=args.seed)
    print(
        f"  loaded in {loaded['copy_seconds']:.1f} s (+ VACUUM ANALYZE {loaded['vacuum_seconds']:.1f} s,"
        f" line summaries {loaded['summaries_seconds']:.1f} s)"
    )
    parquet = export_parquet(url, loaded["distributor_id"])
    baseline = duckdb_baseline(parquet)
    print(f"  DuckDB baseline: {baseline['seconds']:.2f} s")
    job = run_child([sys.executable, "-m", "bench.bench_stratify", "--child"], database_url=url)
    payload = job.payload
    totals = payload["totals"]
    active = sum(totals[s]["count"] for s in ("core", "service_drain", "opportunistic", "marginal"))
    revenue = sum(
        Decimal(totals[s]["revenue"]) for s in ("core", "service_drain", "opportunistic", "marginal")
    ).quantize(Decimal("0.01"))
    ratio = payload["seconds"] / baseline["seconds"]
    peak = float(payload.get("vm_hwm_mib", job.peak_rss_mib))
    rows = [
        ["DuckDB aggregates (baseline)", f"{baseline['seconds']:.2f}", "1.00", "-"],
        ["  of which the run", f"{payload['run_seconds']:.2f}", "", ""],
        [f"  and its profit centers ({payload['profit_rows']:,} rows)", f"{payload['profit_seconds']:.2f}", "", ""],
        ["stratification job + profit centers", f"{payload['seconds']:.2f}", f"{ratio:.2f}", f"{peak:.0f}"],
    ]
    duck_profit = duckdb_profit_centers(parquet, payload["segments"], payload["settings"])
    rows.append(
        [
            "DuckDB profit centers (same work, doubles)",
            f"{duck_profit['seconds']:.2f}",
            f"job's / DuckDB's: {payload['profit_seconds'] / duck_profit['seconds']:.1f}",
            "-",
        ]
    )
    alerts = payload.get("alerts") or {}
    if alerts.get("seconds") is not None:
        share = alerts["seconds"] / payload["run_seconds"]
        rows.append(["raise alerts job", f"{alerts['seconds']:.2f}", f"alerts / run: {share:.2f}", "-"])
    cut_tables = payload.get("cut_tables") or {}
    if cut_tables.get("seconds") is not None:
        share = cut_tables["seconds"] / payload["run_seconds"]
        label = f"cut tables job ({cut_tables.get('pairs', 0):,} pairs, {cut_tables.get('status')})"
        rows.append([label, f"{cut_tables['seconds']:.2f}", f"cut tables / run: {share:.2f}", "-"])
    print()
    print_table(["", "seconds", "ratio", "peak MiB"], rows)
    print(f"  job phases: {payload['timings']}; profit centers: {payload['profit_timings']}")
    print(f"  counts: { {s: totals[s]['count'] for s in totals} }")
    agree = active == baseline["active"] and str(revenue) == baseline["revenue"]
    print(f"  sanity: active {active} vs DuckDB {baseline['active']}, revenue {revenue} vs {baseline['revenue']}")
    print(
        f"  targets: ratio <= {TARGET_RATIO} -> {'OK' if ratio <= TARGET_RATIO else 'MISSED'}; "
        f"peak < {TARGET_PEAK_MIB} MiB -> {'OK' if peak < TARGET_PEAK_MIB else 'MISSED'}; "
        f"results agree -> {'OK' if agree else 'NO'}"
    )
    if alerts.get("seconds") is not None:
        quicker = alerts["seconds"] < payload["run_seconds"]
        print(f"  alerts: {alerts.get('status')}, counts {alerts.get('counts')}")
        print(f"  alerts phases: {alerts.get('timings')}; what happened: {alerts.get('outcome')}")
        if alerts.get("status") != "succeeded":
            print(f"  alerts job message: {alerts.get('message')}")
        print(f"  target: raising alerts < the stratification job -> {'OK' if quicker else 'MISSED'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
