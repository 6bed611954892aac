"""Database helpers shared by the apps that write or read with SQL of their own: which backend
this is, and the few SQL spellings that differ between PostgreSQL and SQLite."""

from contextlib import contextmanager

from django.db import connection, models, transaction


def is_postgres() -> bool:
    """True on PostgreSQL (COPY, DISTINCT ON, advisory locks...); False on SQLite, the embedded default."""
    return connection.vendor == "postgresql"


def distinct_from(a: str, b: str) -> str:
    """`a` and `b` differ, NULLs compared as values (SQLite spells IS DISTINCT FROM as IS NOT)."""
    return f"{a} IS DISTINCT FROM {b}" if is_postgres() else f"{a} IS NOT {b}"


@contextmanager
def read_snapshot():
    """A transaction in which every statement sees the same committed data.

    PostgreSQL runs at READ COMMITTED: each statement of a plain transaction sees what committed
    before *it* started, so a long read (a stratification run's several aggregate queries) could mix
    the data before and after an import that commits meanwhile. As the outermost transaction, this
    one is REPEATABLE READ and READ ONLY: one snapshot, taken at its first query, for all of them.
    Nested in a caller's transaction it cannot change the isolation (PostgreSQL allows that only
    before the first query) and reads within the caller's. SQLite: a read transaction already sees
    one snapshot of the database file."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and is_postgres():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def can_share_snapshot() -> bool:
    """Whether a `read_snapshot` entered now could be shared with a second connection
    (`snapshot_connection`): on PostgreSQL, outside any transaction (a caller's transaction, e.g. a
    test's, may hold rows another connection could not see, and is not REPEATABLE READ)."""
    return is_postgres() and not connection.in_atomic_block


@contextmanager
def snapshot_connection():
    """A second PostgreSQL connection (raw psycopg) that sees exactly what this connection's
    transaction sees: it imports its snapshot (`pg_export_snapshot`) in a read-only REPEATABLE READ
    transaction, so a long read can be split between two connections (two server processes, two
    cores) and stay one snapshot. Only inside a `read_snapshot` entered when `can_share_snapshot()`.
    Closed on the way out, which ends its transaction."""
    import psycopg  # PostgreSQL only

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    other = psycopg.connect(**params)
    try:
        other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        other.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        yield other
    finally:
        other.close()


def heap_pages(table: str) -> int:
    """How many pages a PostgreSQL table's heap has (to split a scan of it into TID ranges)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s) / current_setting('block_size')::int", [table])
        (pages,) = cursor.fetchone()
    return int(pages)


def tid_ranges(pages: int, parts: int, alias: str = "") -> list[str]:
    """SQL conditions on the row's `ctid` (of table `alias`, if given) that split a heap of `pages`
    pages into `parts` ranges, each with `AND` before it (one empty condition for a single part); the
    last range is open, so no row past the pages counted is missed."""
    if parts <= 1:
        return [""]
    tid = f"{alias}.ctid" if alias else "ctid"
    bounds = [pages * i // parts for i in range(parts)] + [None]
    return [
        f" AND {tid} >= '({low},0)'::tid" + (f" AND {tid} < '({high},0)'::tid" if high is not None else "")
        for low, high in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def insert_objects(model, objects: list, *, batch_size: int = 5_000) -> None:
    """Insert unsaved instances of `model` (with no generated primary key to read back) in bulk: COPY on
    PostgreSQL (a few times faster than multi-row INSERTs: no statement to parse per batch, no
    RETURNING), `bulk_create` elsewhere."""
    if not objects:
        return
    if not is_postgres():
        model.objects.bulk_create(objects, batch_size=batch_size)
        return
    fields = _inserted_fields(model)
    _copy_in(model, fields, ([getattr(obj, f.attname) for f in fields] for obj in objects))


def insert_rows(model, rows: list[dict], *, batch_size: int = 5_000) -> None:
    """`insert_objects` for rows given as dicts of every inserted field's attname -> value: no model
    instance is built on PostgreSQL (for 100,000 rows, building them costs more than the COPY)."""
    if not rows:
        return
    if not is_postgres():
        model.objects.bulk_create([model(**row) for row in rows], batch_size=batch_size)
        return
    fields = _inserted_fields(model)
    _copy_in(model, fields, ([row[f.attname] for f in fields] for row in rows))


def _inserted_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]


def _copy_in(model, fields: list, values) -> None:
    """COPY rows (lists of `fields`' values) into `model`'s table (PostgreSQL)."""
    from psycopg.types.json import Jsonb  # only on PostgreSQL

    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    wrap = [Jsonb if isinstance(f, models.JSONField) else None for f in fields]
    sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in values:
            copy.write_row([(w(v) if w and v is not None else v) for w, v in zip(wrap, row, strict=True)])
