"""Import benchmark: the project's invoice-line import against PostgreSQL's raw COPY of the same file.

    python -m bench.bench_import [--lines 1000000] [--customers N] [--seed 7] [--profile]
    make bench-import ARGS="--lines 10000000"

In one run, on a scratch database (`stratify_bench` on the DATABASE_URL server, dropped, created and
migrated here; dev data is never touched):
1. generates N invoice lines as one CSV with imports/demo.py (cached in var/bench/ between runs);
2. (a) raw COPY: streams the file with `COPY ... FROM STDIN (FORMAT csv)` into a table with the CSV's
   columns and the physical layout of sales_invoiceline: a bigint identity key, a distributor_id
   column, and the same four secondary indexes (unique natural key (distributor, invoice_id,
   line_no), (distributor, customer, invoice_date), (distributor, invoice_date), (distributor,
   product, invoice_date) INCLUDE (customer, revenue, cost, special_order)). The project table
   holds customer/product as bigint FK ids; the raw table holds the CSV's text ids instead, because
   COPY cannot resolve them. That is the physical limit of loading this file into that schema;
3. (b) the project's import of the same file into an empty tenant, through the real code path
   (`imports.services.import_start(..., dispatch=False)` + `import_run_now`), in a child process whose
   peak RSS is measured;
4. (c) the same import again into the tenant that now holds the lines (a re-import: nothing changes);
and prints rows/s of each, the ratios to COPY, and the import's peak memory.

Targets at 10M lines: first import >= 40% of COPY's rows/s; peak memory < 1.5 GiB.
`--profile` runs the imports under cProfile and times every SQL statement, and prints where the time
goes (SQL statements by total time, then the Python functions by own time).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from bench.common import (
    ROOT,
    Timer,
    database_name,
    emit_result,
    fmt_int,
    migrate,
    pg_connect,
    print_table,
    recreate_database,
    run_child,
    scratch_database_url,
)

TARGET_RATIO = 0.40
TARGET_PEAK_MIB = 1536
BENCH_DIR = ROOT / "var" / "bench"
RAW_TABLE = "bench_raw_invoiceline"
# CSV column -> PostgreSQL type in the raw table (widths as in sales.models.InvoiceLine).
RAW_TYPES = {
    "invoice_id": "varchar(100) NOT NULL",
    "line_no": "integer NOT NULL",
    "invoice_date": "date NOT NULL",
    "customer_id": "varchar(100) NOT NULL",
    "product_id": "varchar(100) NOT NULL",
    "quantity": "numeric(18,4) NOT NULL",
    "revenue": "numeric(18,4) NOT NULL",
    "cost": "numeric(18,4) NOT NULL",
    "ship_method": "varchar(50)",
    "branch": "varchar(100)",
    "rep_id": "varchar(100)",
    "channel": "varchar(100)",
    "partner_id": "varchar(100)",
    "special_order": "boolean NOT NULL",
    "days_to_pay": "integer",
    "customer_name": "varchar(255)",
    "category": "varchar(100)",
    "brand": "varchar(100)",
}
RAW_INDEXES = [
    f"CREATE UNIQUE INDEX {RAW_TABLE}_key ON {RAW_TABLE} (distributor_id, invoice_id, line_no)",
    f"CREATE INDEX {RAW_TABLE}_customer ON {RAW_TABLE} (distributor_id, customer_id, invoice_date)",
    f"CREATE INDEX {RAW_TABLE}_date ON {RAW_TABLE} (distributor_id, invoice_date)",
    # issue 17: the cut impact's index of the lines by product (sales 0008)
    f"CREATE INDEX {RAW_TABLE}_product ON {RAW_TABLE} (distributor_id, product_id, invoice_date)"
    " INCLUDE (customer_id, revenue, cost, special_order)",
]


# --- The CSV -------------------------------------------------------------------------------------
def lines_csv(*, lines: int, customers: int, seed: int) -> tuple[Path, float | None]:
    """The benchmark file, generated once per (lines, customers, seed); returns (path, seconds or None
    when it was reused)."""
    from imports.demo import DemoDistributor

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"invoice_lines-{lines}-c{customers}-s{seed}.csv"
    done = path.with_suffix(".done")
    if path.exists() and done.exists():
        return path, None
    # A fixed end date keeps the file identical between runs (and comparable between days).
    demo = DemoDistributor(customers=customers, lines=lines, seed=seed, end_date=_end_date())
    with Timer() as t:
        demo.write_lines_csv(path, descriptions=True)
    done.write_text(json.dumps({"lines": lines, "customers": customers, "seed": seed}))
    return path, t.seconds


def _end_date():
    from datetime import date

    return date(2026, 1, 31)


def csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return fh.readline().strip().split(",")


# --- (a) raw COPY ----------------------------------------------------------------------------------
def project_index_count(url: str) -> int:
    with pg_connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'sales_invoiceline'").fetchone()[0]


def raw_copy(url: str, path: Path) -> dict:
    header = csv_header(path)
    unknown = [c for c in header if c not in RAW_TYPES]
    if unknown:
        raise SystemExit(f"No raw type for CSV columns {unknown}.")
    columns = ",\n  ".join(f"{c} {RAW_TYPES[c]}" for c in header)
    ddl = (
        f"CREATE TABLE {RAW_TABLE} (\n  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
        f"  distributor_id bigint NOT NULL DEFAULT 1,\n  {columns}\n)"
    )
    with pg_connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        conn.execute(ddl)
        for statement in RAW_INDEXES:
            conn.execute(statement)
        conn.commit()
        with Timer() as t:
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY {RAW_TABLE} ({', '.join(header)}) FROM STDIN WITH (FORMAT csv, HEADER true)") as cp,
                open(path, "rb") as fh,
            ):
                while block := fh.read(1 << 20):
                    cp.write(block)
            conn.commit()
        rows = conn.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchone()[0]
        size = conn.execute(f"SELECT pg_total_relation_size('{RAW_TABLE}')").fetchone()[0]
        indexes = conn.execute(f"SELECT count(*) FROM pg_indexes WHERE tablename = '{RAW_TABLE}'").fetchone()[0]
        conn.execute(f"DROP TABLE {RAW_TABLE}")
        conn.commit()
    return {"seconds": t.seconds, "rows": rows, "bytes": size, "indexes": indexes}


# --- (b), (c) the project's import, in a child process -----------------------------------------------
def child_import(args) -> None:
    """Runs in the child: one import of the file into the tenant `args.slug` (created when --fresh)."""
    import django

    django.setup()
    from django.db import connection
    from django_scopes import scopes_disabled

    from accounts.models import Distributor, User

    if args.fresh:
        from bench.common import bench_tenant

        distributor, user = bench_tenant(args.slug)
    else:
        with scopes_disabled():
            distributor = Distributor.objects.get(slug=args.slug)
        user = User.objects.get(username=f"{args.slug}-manager")

    from imports.services import import_run_now, import_start

    phases = _instrument_phases()

    sql_times: dict[str, list[float]] = {}

    def timed_sql(execute, sql, params, many, context):
        text = str(sql).lstrip()
        if args.explain and not many and text.upper().startswith(("WITH", "INSERT", "UPDATE", "DELETE")):
            # Same session, so the import's temporary tables are visible; EXPLAIN does not run it.
            with context["connection"].connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + text, params)
                plan = "\n".join("      " + row[0] for row in cursor.fetchall())
            print(f"EXPLAIN {' '.join(text.split())[:160]}\n{plan}", flush=True)
        if args.analyze_before_merge and "INSERT INTO sales_invoiceline" in text:
            # Diagnostic: give the planner fresh statistics for the rows created earlier in this
            # transaction (customers, products, partners, the rep map) before the lines upsert.
            temps = sorted(set(re.findall(r"\bimport_stage_\w+", text)))
            with context["connection"].connection.cursor() as cursor:
                for table in ["sales_customer", "sales_product", "stratify_channels_partner", *temps]:
                    cursor.execute(f"ANALYZE {table}")
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(str(sql).split())[:110]
            entry = sql_times.setdefault(key, [0.0, 0])
            entry[0] += time.perf_counter() - start
            entry[1] += 1

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    wrap = args.profile or args.explain or args.analyze_before_merge
    with connection.execute_wrapper(timed_sql) if wrap else _nullcontext():
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        job = import_start(
            distributor=distributor,
            actor=user,
            kind="invoice_lines",
            path=str(args.path),
            filename=Path(args.path).name,
            dispatch=False,
        )
        job = import_run_now(job)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - start
    if profiler or args.explain:
        _print_profile(profiler, sql_times, seconds)
    print(_phase_report(phases, seconds), flush=True)
    emit_result(
        {
            "seconds": seconds,
            "phases": {k: round(v, 2) for k, v in phases.items()},
            "status": str(job.status),
            "message": job.message,
            "result": _jsonable(getattr(job, "result", None)),
        }
    )


PHASES = [
    ("read", "reading the CSV (pandas, chunks)"),
    ("validate", "validating the chunks (pandas, whole columns)"),
    ("stage", "staging: chunk -> CSV text -> COPY into the temp table"),
    ("duplicates", "duplicate-key check (SQL on the stage)"),
    ("merge_sql", "merge SQL: reps/customers/products/partners named, ANALYZE, lines upsert"),
    ("summaries", "line summaries refresh (SQL)"),
    ("commit", "COMMIT (and any deferred foreign-key checks of the new rows)"),
]


def _instrument_phases() -> dict[str, float]:
    """Time the import's phases by wrapping its functions in this process (no change to imports/)."""
    from django.db import connections

    from imports import loading, services

    phases = dict.fromkeys((key for key, _ in PHASES), 0.0)

    def timed(key, fn):
        def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                phases[key] += time.perf_counter() - start

        return wrapper

    def timed_iter(key, fn):
        def wrapper(*a, **kw):
            iterator = iter(fn(*a, **kw))
            while True:
                start = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    phases[key] += time.perf_counter() - start
                    return
                phases[key] += time.perf_counter() - start
                yield item

        return wrapper

    services.iter_chunks = timed_iter("read", services.iter_chunks)
    services.validate_chunk = timed("validate", services.validate_chunk)
    loading.Stage.append = timed("stage", loading.Stage.append)
    services.find_duplicates = timed("duplicates", services.find_duplicates)
    # The months refresh runs inside the lines merge: time it separately and subtract it below.
    loading.refresh_summaries = timed("summaries", loading.refresh_summaries)
    loading.MERGES["invoice_lines"] = timed("merge_sql", loading.MERGES["invoice_lines"])
    wrapper = connections["default"]
    wrapper.commit = timed("commit", wrapper.commit)
    return phases


def _phase_report(phases: dict[str, float], seconds: float) -> str:
    phases["merge_sql"] -= phases["summaries"]
    lines = ["phases of the import:"]
    for key, label in PHASES:
        lines.append(f"  {phases[key]:8.1f} s  {phases[key] / seconds:4.0%}  {label}")
    other = seconds - sum(phases.values())
    lines.append(f"  {other:8.1f} s  {other / seconds:4.0%}  other (job bookkeeping, ANALYZE of the stage, drops)")
    return "\n".join(lines)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _jsonable(value):
    try:
        json.dumps(value, default=str)
        return value
    except TypeError:
        return str(value)


def _print_profile(profiler, sql_times: dict, seconds: float) -> None:
    import io
    import pstats

    total_sql = sum(t for t, _ in sql_times.values())
    print(f"profile: import {seconds:.1f} s, of which SQL (client-measured) {total_sql:.1f} s")
    print("SQL statements by total time:")
    for sql, (t, n) in sorted(sql_times.items(), key=lambda kv: -kv[1][0])[:15]:
        print(f"  {t:8.2f} s  {n:6d}x  {sql}")
    if profiler is None:
        return
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    stats.sort_stats("tottime").print_stats(25)
    print("Python functions by own time (tottime):")
    for line in buf.getvalue().splitlines():
        if line.strip():
            print("  " + line)
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(r"imports", 25)
    buf2 = io.StringIO()
    pstats.Stats(profiler, stream=buf2).sort_stats("cumulative").print_stats(r"\(commit|\(_commit|\(wait\)", 6)
    print("Transaction commits (deferred foreign-key checks of new rows run here):")
    for line in buf2.getvalue().splitlines():
        if "commit" in line or "wait" in line:
            print("  " + line)
    print("imports/ functions by cumulative time:")
    for line in buf.getvalue().splitlines():
        if line.strip():
            print("  " + line)


# --- The run -------------------------------------------------------------------------------------
def tenant_line_count(url: str, slug: str) -> int:
    with pg_connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM sales_invoiceline l JOIN accounts_distributor d ON d.id = l.distributor_id "
            "WHERE d.slug = %s",
            (slug,),
        ).fetchone()[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: lines / 50, 400..200,000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db-name", default="stratify_bench")
    parser.add_argument("--profile", action="store_true", help="profile the imports (slower; see the phases)")
    parser.add_argument(
        "--explain", action="store_true", help="print the plan of every write statement the import runs"
    )
    parser.add_argument(
        "--analyze-before-merge",
        action="store_true",
        help="diagnostic: ANALYZE the tables the lines upsert joins just before it runs",
    )
    parser.add_argument("--no-reimport", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    # Internal: the child process that runs one import.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--slug", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--fresh", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_import(args)
        return 0

    lines = args.lines
    customers = args.customers or int(min(max(lines // 50, 400), 200_000))
    url = scratch_database_url(os.environ.get("DATABASE_URL"), args.db_name)
    sys.path.insert(0, str(ROOT))
    print(f"Import benchmark: {fmt_int(lines)} invoice lines, {fmt_int(customers)} customers, seed {args.seed}")
    print(f"Scratch database: {database_name(url)} (dropped and re-created)")

    path, gen_seconds = lines_csv(lines=lines, customers=customers, seed=args.seed)
    size_mib = path.stat().st_size / 2**20
    how = f"generated in {gen_seconds:.1f} s" if gen_seconds is not None else "reused"
    print(f"File: {path.relative_to(ROOT)} ({size_mib:,.0f} MiB, {how})")

    recreate_database(url)
    print(f"Migrated in {migrate(url):.1f} s")
    project_indexes = project_index_count(url)

    print("(a) raw COPY ...", flush=True)
    raw = raw_copy(url, path)
    if raw["rows"] != lines:
        raise SystemExit(f"COPY loaded {raw['rows']} rows, expected {lines}.")
    if raw["indexes"] != project_indexes:
        print(f"  note: raw table has {raw['indexes']} indexes, sales_invoiceline {project_indexes}")

    child = [sys.executable, "-m", "bench.bench_import", "--child", "--path", str(path), "--slug", "bench"]
    flags = {"--profile": args.profile, "--explain": args.explain, "--analyze-before-merge": args.analyze_before_merge}
    child += [flag for flag, on in flags.items() if on]
    print("(b) import into an empty tenant ...", flush=True)
    first = run_child([*child, "--fresh"], database_url=url)
    _check_job(first.payload)
    loaded = tenant_line_count(url, "bench")
    if loaded != lines:
        raise SystemExit(f"The import left {loaded} lines in the tenant, expected {lines}.")
    second = None
    if not args.no_reimport:
        print("(c) re-import into the tenant that holds it ...", flush=True)
        second = run_child(child, database_url=url)
        _check_job(second.payload)
        loaded = tenant_line_count(url, "bench")
        if loaded != lines:
            raise SystemExit(f"The re-import left {loaded} lines in the tenant, expected {lines}.")

    copy_rate = lines / raw["seconds"]
    rows = [["(a) raw COPY", f"{raw['seconds']:.1f}", fmt_int(copy_rate), "1.00", "-"]]
    figures = {
        "lines": lines,
        "customers": customers,
        "file_mib": round(size_mib, 1),
        "copy_seconds": round(raw["seconds"], 2),
        "copy_rows_per_s": round(copy_rate),
        "indexes": {"raw": raw["indexes"], "sales_invoiceline": project_indexes},
    }
    for label, key, res in (("(b) import, empty tenant", "import", first), ("(c) re-import", "reimport", second)):
        if res is None:
            continue
        seconds = float(res.payload.get("seconds") or res.seconds)
        rate = lines / seconds
        rows.append([label, f"{seconds:.1f}", fmt_int(rate), f"{rate / copy_rate:.2f}", f"{res.peak_rss_mib:,.0f}"])
        figures[key] = {
            "seconds": round(seconds, 2),
            "rows_per_s": round(rate),
            "ratio_to_copy": round(rate / copy_rate, 3),
            "peak_rss_mib": res.peak_rss_mib,
            "result": res.payload.get("result"),
        }
    print()
    print_table(["step", "seconds", "rows/s", "vs COPY", "peak RSS MiB"], rows)
    print(
        f"\nraw COPY table: {raw['indexes']} indexes incl. the bigint key (sales_invoiceline: {project_indexes}); "
        f"{raw['bytes'] / 2**20:,.0f} MiB"
    )
    ratio = figures["import"]["ratio_to_copy"]
    peak = figures["import"]["peak_rss_mib"]
    if second is not None:
        peak = max(peak, figures["reimport"]["peak_rss_mib"])
    print(
        f"Targets (at 10M lines): import >= {TARGET_RATIO:.0%} of COPY rows/s -> {ratio:.0%} "
        f"{'OK' if ratio >= TARGET_RATIO else 'MISSED'}; peak memory < {TARGET_PEAK_MIB} MiB -> {peak:,.0f} MiB "
        f"{'OK' if peak < TARGET_PEAK_MIB else 'MISSED'}"
    )
    out = args.json or BENCH_DIR / f"bench_import-{lines}.json"
    out.write_text(json.dumps(figures, indent=2, default=str))
    print(f"Figures written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


def _check_job(payload: dict) -> None:
    if payload.get("status") != "succeeded":
        raise SystemExit(f"The import did not succeed: {payload}")


if __name__ == "__main__":
    sys.exit(main())
