"""Every raw SQL statement of the project filters by the tenant (docs/SCALING.md "Citus": a statement
without a distributor_id predicate would fan out to every shard, or read another tenant's rows).

A representative workload — a demo tenant loaded through the import's write path, a file import that
re-stratifies (import job, run, publish, profit-centers job) and the main pages of each role — runs with
an execute wrapper that keeps the statements issued by the project's own code (the ORM's are left out:
the ORM adds the tenant through the scoped managers). Each one that names a tenant table must carry a
distributor_id predicate (or, for an INSERT of rows, the distributor_id column)."""

import re
import traceback
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from tests import factories as f

PROJECT = Path(settings.BASE_DIR).resolve()
APPS = tuple(
    str(PROJECT / name) + "/"
    for name in ("accounts", "sales", "channels", "segments", "imports", "insights", "stratify")
)
NOT_TENANT_SCOPED = re.compile(
    # maintenance and session statements: statistics of whole tables (a table's size in pages, which the
    # alerts' line reader splits into parts), locks, settings, savepoints
    r"^\s*(ANALYZE|VACUUM|SET |SHOW |SELECT pg_advisory|SELECT set_config|SELECT pg_relation_size|RESET "
    r"|CREATE TEMP|SAVEPOINT|RELEASE|ROLLBACK)",
    re.I,
)
PREDICATE = re.compile(r"distributor_id\"?\s*(=|IN\b|IS NOT DISTINCT FROM)|=\s*[\w\".]*distributor_id\b", re.I)


# (file, a piece of the statement) -> why it is safe today and its fix for Citus (docs/SCALING.md).
EXCEPTIONS: dict[tuple[str, str], str] = {}  # none left: every join of a tenant table names the tenant


def tenant_tables() -> set[str]:
    return {
        m._meta.db_table
        for m in apps.get_models()
        if any(field.name == "distributor" for field in m._meta.concrete_fields)
    }


def raw_caller() -> str | None:
    """The project's file and line that sent this statement itself, or None for the ORM's."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        name = frame.filename
        if "/django/db/backends/" in name or name == __file__ or "/contextlib.py" in name:
            continue
        if "/django/" in name:
            return None  # the ORM, sessions, migrations...
        if name.startswith(APPS):
            return f"{Path(name).relative_to(PROJECT)}:{frame.lineno}"
        # pandas and other libraries the project hands its SQL to: look further out
    return None


class Collector:
    def __init__(self):
        self.statements: list[tuple[str, str]] = []

    def __call__(self, execute, sql, params, many, context):
        where = raw_caller()
        if where is not None:
            self.statements.append((where, str(sql)))
        return execute(sql, params, many, context)


def touches(sql: str, tables: set[str]) -> list[str]:
    lowered = sql.lower()
    return sorted(t for t in tables if re.search(rf"(?<![\w.]){re.escape(t)}(?!\w)", lowered))


INSERT_HEADER = re.compile(r"INSERT INTO \S+\s*\(([^)]*)\)", re.I | re.S)
CONFLICT = re.compile(r"ON CONFLICT\s*\(([^)]*)\)\s*DO\s+(NOTHING|UPDATE SET .*?)(?=\s+RETURNING\b|\)|$)", re.I | re.S)


def written_rows_removed(sql: str) -> str:
    """The statement without what only concerns the rows it writes for the tenant: an INSERT's target
    when its columns include distributor_id (the rows carry the tenant), and an ON CONFLICT clause on a
    key that starts with distributor_id (the row updated is the tenant's own). What is left is what
    the statement reads, which must be filtered."""

    def header(match):
        return "INSERT INTO <tenant rows>" if "distributor_id" in match.group(1) else match.group(0)

    def conflict(match):
        return "" if "distributor_id" in match.group(1) else match.group(0)

    return CONFLICT.sub(conflict, INSERT_HEADER.sub(header, sql))


def violations(statements, tables) -> list[str]:
    bad = []
    for where, sql in statements:
        if NOT_TENANT_SCOPED.match(sql):
            continue
        named = touches(sql, tables)
        if not named:
            continue
        rest = written_rows_removed(sql)
        named = touches(rest, tables)
        if not named:
            continue
        if PREDICATE.search(rest):
            continue
        if any(file in where and snippet in " ".join(sql.split()) for (file, snippet) in EXCEPTIONS):
            continue
        bad.append(f"{where}: {' '.join(sql.split())[:300]} (tables: {', '.join(named)})")
    return bad


@pytest.fixture
def workload(tmp_path, django_db_blocker):
    from imports.demo import DemoDistributor, load_demo
    from imports.services import import_start

    collector = Collector()
    distributor, other = f.DistributorFactory(slug="raw-sql-a"), f.DistributorFactory(slug="raw-sql-b")
    manager = f.membership(distributor, "manager", username="raw-sql-manager")
    demo = DemoDistributor(customers=120, lines=3000, seed=5)
    path = tmp_path / "lines.csv"
    demo.write_lines_csv(path)
    with connection.execute_wrapper(collector):
        load_demo(distributor=distributor, demo=demo)
        load_demo(distributor=other, demo=DemoDistributor(customers=60, lines=1000, seed=6))
        with transaction.atomic():  # the eager job runs when this commits: import, run, profit centers
            job = import_start(distributor=distributor, actor=manager, kind="invoice_lines", path=path, restratify=True)
        client = Client()
        client.force_login(manager)
        with scopes_disabled():
            from sales.models import Customer

            customer = Customer.objects.filter(distributor=distributor).order_by("pk").first()
        pages = [
            reverse(name, kwargs={"tenant": distributor.slug})
            for name in ("dashboard", "my-customers", "profit-centers")
        ]
        pages.append(
            reverse("customer-detail", kwargs={"tenant": distributor.slug, "customer_id": customer.customer_id})
        )
        codes = {url: client.get(url).status_code for url in pages}
    return collector, job, codes


@pytest.mark.django_db(transaction=True)
def test_every_raw_statement_filters_by_the_tenant(workload):
    from segments.models import ProfitCurve, StratificationRun

    collector, job, codes = workload
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    assert set(codes.values()) == {200}, codes
    with scopes_disabled():  # the workload did what it claims: a published run with its profit centers
        run = StratificationRun.objects.filter(distributor=job.distributor, published_at__isnull=False).first()
        assert run is not None and ProfitCurve.objects.filter(run=run).exists()
    assert len(collector.statements) >= 5, collector.statements  # raw SQL was seen at all
    assert not violations(collector.statements, tenant_tables()), "\n".join(
        violations(collector.statements, tenant_tables())
    )


def test_the_check_catches_a_statement_without_the_tenant():
    tables = {"sales_invoiceline", "sales_customer"}
    assert violations([("x.py:1", "SELECT SUM(revenue) FROM sales_invoiceline")], tables)
    assert violations([("x.py:1", "UPDATE sales_customer SET name = %s WHERE id = %s")], tables)
    assert not violations([("x.py:1", "SELECT 1 FROM sales_invoiceline l WHERE l.distributor_id = %s")], tables)
    assert not violations([("x.py:1", 'INSERT INTO sales_customer ("distributor_id", "name") VALUES (%s, %s)')], tables)
    assert not violations([("x.py:1", "SELECT 1 FROM other_table")], tables)
    upsert = (
        "INSERT INTO sales_customer (distributor_id, name) SELECT 1, s.name FROM stage s ON CONFLICT ({}) "
        "DO UPDATE SET name = excluded.name WHERE sales_customer.name IS NOT excluded.name"
    )
    assert not violations([("x.py:1", upsert.format("distributor_id, customer_id"))], tables)
    assert violations([("x.py:1", upsert.format("customer_id"))], tables)
    assert violations(
        [("x.py:1", "INSERT INTO sales_customer (distributor_id, name) SELECT 1, name FROM sales_customer")], tables
    )
    cte = (
        "WITH src AS (SELECT 7, s.name FROM stage s WHERE true), ins AS (INSERT INTO sales_customer (distributor_id, "
        "name) SELECT * FROM src ON CONFLICT ({}) DO NOTHING RETURNING 1) SELECT (SELECT count(*) FROM src)"
    )
    assert not violations([("x.py:1", cte.format("distributor_id, customer_id"))], tables)
    # (a conflict key without distributor_id is a unique constraint tests/test_citus_ready.py rejects)
