"""Writing validated rows: a staging table, then set-based SQL.

Rows are streamed chunk by chunk into a TEMPORARY table (PostgreSQL: `COPY ... FROM STDIN` through
psycopg 3; SQLite: batched `executemany`). Nothing touches the tenant's tables until `merge`, which
runs in ONE transaction: it creates the customers, products, partners and reps the rows name,
upserts the rows on their natural key (`INSERT ... ON CONFLICT (distributor_id, ...) DO UPDATE ...
WHERE <something> IS DISTINCT FROM <what is stored>`, so unchanged rows are not rewritten), and keeps
the line summaries of `sales.summaries` up to date. A failure or a killed worker rolls the whole merge back, and the
temporary table dies with its session; the `Stage` context manager also drops it on every exit.

The SQL is shared by both backends except for COPY, counting (PostgreSQL tells inserted from updated
rows by `xmax = 0` in one statement; SQLite compares row counts) and null-safe comparison."""

import contextlib
import re
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
from django.db import connection, transaction

from channels.models import Interaction, Partner
from sales import summaries
from sales.models import Customer, Inventory, InvoiceLine, Product, Rep
from sales.services import assignment_changed
from stratify.db import distinct_from, is_postgres

from .errors import ErrorLog
from .formats import BOOL, CHOICE, DATE, DECIMAL, INT, Kind
from .validation import INTERACTION_KEY_COLUMNS, stage_columns

ProgressFn = "callable(percent, message='') or None"

_PG_TYPES = {DECIMAL: "numeric", INT: "integer", DATE: "date", BOOL: "boolean"}
_SQLITE_TYPES = {DECIMAL: "NUMERIC", INT: "INTEGER", DATE: "TEXT", BOOL: "INTEGER"}
SQLITE_BATCH = 50_000
FETCH_ROWS = 100_000  # rows of errors read back from the stage at a time
IMPORT_LOCK = 0x1A7  # advisory lock namespace of import merges (the second key is the tenant)


def _table(model) -> str:
    return model._meta.db_table


# --- the staging table -----------------------------------------------------------------------------


class Stage:
    """A temporary table for one import's validated rows; a context manager that always drops it."""

    def __init__(self, kind: Kind):
        self.kind = kind
        self.name = f"import_stage_{uuid.uuid4().hex[:16]}"
        self.columns = stage_columns(kind)
        self.rows = 0
        self.missing_line_no = 0  # staged rows without a line number (invoice lines)
        # Invoice lines: {entity: one row per customer/product named, first non-empty descriptions}.
        self.entities: dict[str, pd.DataFrame] = {}
        self._tables = [self.name]
        # PostgreSQL: each chunk's COPY runs on a background thread while the next chunk is read and
        # checked, so the server parses one chunk while Python works on the next (at most one in flight).
        self._copier: ThreadPoolExecutor | None = None
        self._copying: Future | None = None

    def sub(self, suffix: str) -> str:
        """A further temporary table of this import (dropped with the stage)."""
        name = f"{self.name}_{suffix}"
        self._tables.append(name)
        return name

    def _type(self, column: str) -> str:
        if column == "_row":
            return "bigint" if is_postgres() else "INTEGER"
        col_type = self.kind.column(column).type if column in self.kind.names else "text"
        if col_type == CHOICE:
            col_type = "text"
        types = _PG_TYPES if is_postgres() else _SQLITE_TYPES
        return types.get(col_type, "text" if is_postgres() else "TEXT")

    def __enter__(self) -> "Stage":
        columns = ", ".join(f"{c} {self._type(c)}" for c in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({columns})")
        return self

    def __exit__(self, *exc) -> None:
        self.drop()

    def finish(self) -> None:
        """Wait for the chunk being copied (re-raising its error): every statement that reads the stage,
        or uses the connection at all, comes after this."""
        copying, self._copying = self._copying, None
        if copying is not None:
            copying.result()

    def drop(self) -> None:
        with contextlib.suppress(Exception):  # the import fails with its own error; the stage goes anyway
            self.finish()
        if self._copier is not None:
            self._copier.shutdown(wait=True)
            self._copier = None
        try:
            with connection.cursor() as cursor:
                for name in reversed(self._tables):
                    cursor.execute(f"DROP TABLE IF EXISTS {name}")
        except Exception:  # noqa: S110 - an aborted transaction or a closed connection drops temp tables itself
            pass
        self._tables = [self.name]

    def append(self, frame: pd.DataFrame) -> None:
        """Add rows (any subset of the staging columns; absent ones are NULL)."""
        if frame.empty:
            return
        if self.kind.name == "invoice_lines":
            self._collect_entities(frame)
        frame = frame.reindex(columns=self.columns)
        if "line_no" in self.columns:
            self.missing_line_no += int(frame["line_no"].isna().sum())
        if is_postgres():
            data = copy_text(frame)
            self.finish()
            connection.ensure_connection()
            if self._copier is None:
                self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-copy")
            # The raw psycopg connection, not Django's (thread-local) wrapper: the temporary table exists
            # only in this session. psycopg serialises the connection's use between the two threads.
            self._copying = self._copier.submit(_copy_in, connection.connection, self.name, self.columns, data)
        else:
            write_rows(self.name, self.columns, frame)
        self.rows += len(frame)

    def _collect_entities(self, frame: pd.DataFrame) -> None:
        for entity, (key, attributes) in LINE_ENTITIES.items():
            columns = [c for c in attributes if c in frame.columns]
            part = frame[[key, *columns]]
            previous = self.entities.get(entity)
            if previous is not None:
                part = pd.concat([previous, part], ignore_index=True)
            self.entities[entity] = _first_descriptions(part, key, columns)

    def entity_table(self, entity: str) -> tuple[str, list[str]] | None:
        """A temporary table of the customers or products the lines name, with their descriptions."""
        frame = self.entities.get(entity)
        if frame is None:
            return None
        self.finish()
        name = self.sub(entity)
        text = "text" if is_postgres() else "TEXT"
        columns = list(frame.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {name} ({', '.join(f'{c} {text}' for c in columns)})")
        write_rows(name, columns, frame)
        return name, columns

    def analyze(self) -> None:
        self.finish()
        if is_postgres():
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {self.name}")


# What a customer or product that lines name and the tenant does not have yet is created from (shared
# docs DATA_FORMAT.md: "from the customer_name, category, brand columns when present"; the class too, a
# customer's own field when a file maps one). A line's branch and rep are the sale's, not the customer's
# home branch or assigned rep: those come from a customers file only.
LINE_ENTITIES = {
    "customers": ("customer_id", ("customer_name", "customer_class")),
    "products": ("product_id", ("product_name", "category", "brand", "supplier_id")),
}


def _first_descriptions(part: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """One row per key with, per column, the first non-empty value (hash-based, no sort)."""
    out = part[[key]].drop_duplicates(key)
    for column in columns:
        values = part[column]
        given = part.loc[values.notna() & (values.astype(str) != ""), [key, column]].drop_duplicates(key)
        out = out.merge(given, on=key, how="left")
    return out.reset_index(drop=True)


def write_rows(table: str, columns: list[str], frame: pd.DataFrame) -> None:
    """Append `frame` (exactly `columns`) to a temporary table: COPY on PostgreSQL, batched
    executemany on SQLite."""
    if is_postgres():
        connection.ensure_connection()
        _copy_in(connection.connection, table, columns, copy_text(frame))
    else:
        values = frame.astype(object)
        values = values.where(frame.notna(), None)
        placeholders = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        connection.ensure_connection()
        raw = connection.connection
        # In autocommit every INSERT would be its own transaction; a deferred BEGIN touching only
        # the temporary database does not take the main database's write lock.
        own_transaction = not connection.in_atomic_block
        if own_transaction:
            raw.execute("BEGIN")
        try:
            for start in range(0, len(values), SQLITE_BATCH):
                rows = values.iloc[start : start + SQLITE_BATCH].itertuples(index=False, name=None)
                raw.executemany(sql, rows)
        except BaseException:
            if own_transaction:
                raw.execute("ROLLBACK")
            raise
        if own_transaction:
            raw.execute("COMMIT")


def _copy_in(raw_connection, table: str, columns: list[str], data: str) -> None:
    """COPY CSV text into a table through a psycopg connection."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    with raw_connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(data)


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _column_text(values: pd.Series) -> np.ndarray:
    """One column as CSV cells for COPY: "" for NULL, booleans as t/f, text quoted when needed."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(values.dtype):
        cells = np.where(values.fillna(False).to_numpy(dtype=bool), "t", "f").astype(object)
    elif pd.api.types.is_numeric_dtype(values.dtype):
        cells = values.astype(str).to_numpy(dtype=object)
    else:
        cells = values.astype(object).to_numpy(dtype=object, na_value="")
        # Quoting is rare: one search over the joined column decides whether any cell needs it.
        try:
            joined = "\x00".join(cells)
        except TypeError:  # a frame handed to load_frame may hold non-str objects
            cells = np.array([str(v) for v in cells], dtype=object)
            joined = "\x00".join(cells)
        if any(special in joined for special in ',"\r\n'):
            text = pd.Series(cells, dtype=object).astype(str)
            quote = text.str.contains(_NEEDS_QUOTES)
            cells = text.where(~quote, '"' + text.str.replace('"', '""', regex=False) + '"').to_numpy(dtype=object)
    if missing.any():
        cells = np.where(missing, "", cells).astype(object)
    return cells


def copy_text(frame: pd.DataFrame) -> str:
    """The frame as COPY CSV text. Joining whole columns with str.join runs at C speed, several times
    faster than DataFrame.to_csv's per-cell formatting."""
    columns = [_column_text(frame[name]) for name in frame.columns]
    return "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"


# --- SQL helpers -----------------------------------------------------------------------------------


def _defaults(model, given: dict[str, str]) -> dict[str, str]:
    """`given` ({db column: SQL expression}) completed with a literal for every NOT NULL column it
    leaves out: the database has no defaults of its own (Django applies them in Python)."""
    out = dict(given)
    for field in model._meta.concrete_fields:
        column = field.column
        if field.primary_key or column in out or field.null:
            continue
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            out[column] = "CURRENT_TIMESTAMP"
        elif field.get_internal_type() == "BooleanField":
            out[column] = "TRUE" if field.get_default() else "FALSE"
        elif field.get_internal_type() in ("CharField", "TextField", "EmailField"):
            out[column] = "'" + str(field.get_default() or "").replace("'", "''") + "'"
        else:
            raise ValueError(f"{model.__name__}.{field.name} needs a value")
    return out


def _count(cursor, sql: str, params=()) -> int:
    cursor.execute(sql, list(params))
    return int(cursor.fetchone()[0] or 0)


def _insert_new(cursor, model, columns: dict[str, str], from_sql: str, *, conflict: list[str], group_by: str = ""):
    """Insert the rows `SELECT <columns> <from_sql>` that are not there yet. Returns (candidates,
    inserted). `from_sql` starts at FROM and includes a WHERE (SQLite's upsert grammar needs one)."""
    table = _table(model)
    columns = _defaults(model, columns)
    names = ", ".join(columns)
    select = f"SELECT {', '.join(columns.values())} {from_sql} {group_by}"
    conflict_sql = ", ".join(["distributor_id", *conflict])
    if is_postgres():
        cursor.execute(
            f"WITH src AS ({select}), ins AS (INSERT INTO {table} ({names}) SELECT * FROM src"
            f" ON CONFLICT ({conflict_sql}) DO NOTHING RETURNING 1)"
            " SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM ins)",
            [],
        )
        candidates, inserted = cursor.fetchone()
        return int(candidates), int(inserted)
    candidates = _count(cursor, f"SELECT count(*) FROM ({select}) AS src")
    cursor.execute(f"INSERT INTO {table} ({names}) {select} ON CONFLICT ({conflict_sql}) DO NOTHING", [])
    return candidates, max(cursor.rowcount, 0)


def _upsert(cursor, stage, model, columns: dict[str, str], from_sql: str, *, conflict: list[str], update, tenant):
    """Insert or update `SELECT <columns> <from_sql>` on the natural key; a row is updated only when
    one of the `update` columns differs. Returns (created, updated)."""
    table = _table(model)
    columns = _defaults(model, columns)
    names = ", ".join(columns)
    if is_postgres():
        return _upsert_pg(cursor, stage, table, columns, from_sql, conflict=conflict, update=update, tenant=tenant)
    conflict_sql = ", ".join(["distributor_id", *conflict])
    sets = ", ".join(f"{c} = excluded.{c}" for c in update)
    changed = " OR ".join(distinct_from(f"{table}.{c}", f"excluded.{c}") for c in update)
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {', '.join(columns.values())} {from_sql}"
        f" ON CONFLICT ({conflict_sql}) DO UPDATE SET {sets} WHERE {changed}"
    )
    count_sql = f"SELECT count(*) FROM {table} WHERE distributor_id = {tenant}"
    before = _count(cursor, count_sql)
    cursor.execute(sql, [])
    total = max(cursor.rowcount, 0)
    created = _count(cursor, count_sql) - before
    return created, total - created


def _upsert_pg(cursor, stage, table: str, columns: dict[str, str], from_sql: str, *, conflict, update, tenant):
    """PostgreSQL: an UPDATE of the rows that differ, then a plain INSERT of the new ones. Plain
    inserts cost about half of `INSERT ... ON CONFLICT`'s speculative ones, and a tenant's first
    import (no rows yet) skips the UPDATE and the existence check altogether. The merge holds the
    tenant's import lock, so no other import adds the same keys in between."""
    names = ", ".join(columns)
    select = f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in columns.items())} {from_sql}"
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE distributor_id = {tenant})", [])
    if not cursor.fetchone()[0]:
        cursor.execute(f"INSERT INTO {table} ({names}) {select}", [])
        return max(cursor.rowcount, 0), 0
    resolved = stage.sub("resolved")
    cursor.execute(f"CREATE TEMPORARY TABLE {resolved} AS {select}", [])
    _analyze(cursor, resolved)
    same_key = " AND ".join([f"t.distributor_id = {tenant}", *(f"t.{c} = n.{c}" for c in conflict)])
    updated = 0
    if update:
        sets = ", ".join(f"{c} = n.{c}" for c in update)
        changed = " OR ".join(distinct_from(f"t.{c}", f"n.{c}") for c in update)
        cursor.execute(f"UPDATE {table} AS t SET {sets} FROM {resolved} AS n WHERE {same_key} AND ({changed})", [])
        updated = max(cursor.rowcount, 0)
    cursor.execute(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {resolved} AS n"
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same_key})",
        [],
    )
    created = max(cursor.rowcount, 0)
    cursor.execute(f"DROP TABLE {resolved}", [])
    return created, updated


def _analyze(cursor, *tables: str) -> None:
    """Refresh PostgreSQL's statistics of tables this merge just filled: planned with the stale "empty
    table" estimate, the next join would loop over every row of the stage for every new customer.
    ANALYZE samples a fixed number of rows, so it costs little even on a large table."""
    if is_postgres():
        for table in tables:
            cursor.execute(f"ANALYZE {table}", [])


def _text(expr: str) -> str:
    return f"COALESCE({expr}, '')"


def _take_present(columns: dict, update: list, present: set[str], *, text=(), flags=(), plain=()) -> None:
    """Map the optional columns the file has onto the target table's (and mark them updatable): text
    empty rather than NULL, booleans false when blank, other values as staged."""
    for names, expr in (
        (text, lambda n: _text(f"s.{n}")),
        (flags, "COALESCE(s.{}, FALSE)".format),
        (plain, "s.{}".format),
    ):
        for name in names:
            if name in present:
                columns[name] = expr(name)
                update.append(name)


def _join_reps(columns: dict, update: list, repmap: str | None) -> str:
    """The rep named by each staged row (code or e-mail, through the rep map), as a join to add."""
    if not repmap:
        return ""
    columns["rep_id"] = "rm.rep_pk"
    update.append("rep_id")
    return f" LEFT JOIN {repmap} rm ON rm.k = s.rep_id"


# --- line numbers and duplicates -------------------------------------------------------------------


def line_no_expr(stage: Stage, present: set[str], alias: str = "s") -> str:
    """`line_no` defaults to the line's position within its invoice in the file (a window function,
    so a sort of the stage, only when some line has no number)."""
    position = f"row_number() OVER (PARTITION BY {alias}.invoice_id ORDER BY {alias}._row)"
    if "line_no" not in present:
        return position
    if not stage.missing_line_no:
        return f"{alias}.line_no"
    return f"COALESCE({alias}.line_no, {position})"


def key_exprs(stage: Stage, present: set[str]) -> list[tuple[str, str]]:
    if stage.kind.name == "invoice_lines":
        return [("invoice_id", "s.invoice_id"), ("line_no", line_no_expr(stage, present))]
    # A key column whose cells may be empty (inventory's branch) is staged NULL there: the empty value.
    kind = stage.kind
    return [
        (name, f"s.{name}" if name not in kind.names or kind.column(name).needs_value else _text(f"s.{name}"))
        for name in kind.key
    ]


def shown_key(stage: Stage, present: set[str]) -> list[tuple[str, str]]:
    """The columns that make two rows the same, as the user knows them: the natural key, or for an
    interaction (keyed by a digest) the file's columns the digest is made of."""
    if stage.kind.name == "interactions":
        return [(name, _text(f"CAST(s.{name} AS TEXT)")) for name in INTERACTION_KEY_COLUMNS if name in present]
    return key_exprs(stage, present)


def find_duplicates(stage: Stage, present: set[str], errors: ErrorLog) -> None:
    """Record every row whose natural key an earlier row of the file already has."""
    stage.finish()
    keys = key_exprs(stage, present)
    if stage.kind.name == "invoice_lines" and "line_no" not in present:
        return  # positions within an invoice are unique by construction
    shown = shown_key(stage, present)
    inner = ", ".join(f"{expr} AS k{i}" for i, (_, expr) in enumerate(keys))
    knames = ", ".join(f"k{i}" for i in range(len(keys)))
    vnames = ", ".join(f"v{i}" for i in range(len(shown)))
    values_sql = ", ".join(f"{expr} AS v{i}" for i, (_, expr) in enumerate(shown))
    keyed = f"(SELECT s._row AS _row, {inner}, {values_sql} FROM {stage.name} s WHERE true) AS keyed"
    with connection.cursor() as cursor:
        extra = _count(
            cursor, f"SELECT SUM(n - 1) FROM (SELECT count(*) AS n FROM {keyed} GROUP BY {knames}) AS g WHERE n > 1"
        )
        if not extra:
            return
    # A server-side cursor on PostgreSQL: rows come a batch at a time, not all at once.
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT _row, first_row, {vnames} FROM (SELECT _row, {vnames},"
            f" MIN(_row) OVER (PARTITION BY {knames}) AS first_row FROM {keyed}) AS x"
            f" WHERE _row <> first_row ORDER BY _row",
            [],
        )
        # Every duplicate, a batch at a time (errors.csv lists each one; memory stays flat).
        while rows := cursor.fetchmany(FETCH_ROWS):
            _add_duplicates(stage, shown, rows, errors)


def _add_duplicates(stage: Stage, shown: list[tuple[str, str]], rows: list[tuple], errors: ErrorLog) -> None:
    """Record duplicate rows ((row, first row, the shown key's values...)), naming the first row."""
    frame = pd.DataFrame(rows, columns=["row", "first", *[f"v{i}" for i in range(len(shown))]])
    values = frame[[f"v{i}" for i in range(len(shown))]].astype(str).agg(" / ".join, axis=1)
    if stage.kind.name == "interactions":
        label = "/".join(name for name, _ in shown)
        group, phrase = "same interaction", "is the same interaction as an earlier row"
        reasons = "the same interaction as row " + frame["first"].astype(str)
    else:
        label = ", ".join(name for name, _ in shown)
        group, phrase = f"duplicate {label}", "repeats"
        reasons = "duplicate " + label + " (same as row " + frame["first"].astype(str) + ")"
    errors.add(pd.Index(frame["row"]), label, values, reasons, group=group, phrase=phrase)


_REFERENCED = {"products": (Product, "product_id", "product")}


def find_unknown_references(stage: Stage, distributor, errors: ErrorLog) -> None:
    """Record every row naming a record the tenant does not have, for the kinds whose columns must
    name existing ones (`Kind.references`: inventory's products). One anti-join per column."""
    stage.finish()
    tenant = int(distributor.pk)
    for column, entity in stage.kind.references:
        model, key, word = _REFERENCED[entity]
        unknown = (
            f"FROM {stage.name} s WHERE s.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {_table(model)} r"
            f" WHERE r.distributor_id = {tenant} AND r.{key} = s.{column})"
        )
        reason = f"unknown {word} (import its invoice lines or the products file first)"
        with connection.chunked_cursor() as cursor:  # server-side on PostgreSQL
            cursor.execute(f"SELECT s._row, s.{column} {unknown} ORDER BY s._row", [])
            # Every one, a batch at a time (errors.csv lists each; memory stays flat).
            while rows := cursor.fetchmany(FETCH_ROWS):
                frame = pd.DataFrame(rows, columns=["row", "value"])
                errors.add(pd.Index(frame["row"]), column, frame["value"], reason, phrase="is not a known " + word)


# --- merges, one per kind --------------------------------------------------------------------------


def _reps(cursor, stage: Stage, tenant: int) -> tuple[str, dict]:
    """Create the reps the rows name (by code or e-mail) and build `<stage>_rep` (k, rep_pk)."""
    values = stage.sub("repv")
    repmap = stage.sub("rep")
    rep = _table(Rep)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {values} AS SELECT DISTINCT rep_id AS k FROM {stage.name}"
        " WHERE rep_id IS NOT NULL AND rep_id <> ''",
        [],
    )
    candidates, created = _insert_new(
        cursor,
        Rep,
        {
            "distributor_id": str(tenant),
            "rep_id": "v.k",
            "email": "CASE WHEN v.k LIKE '%%@%%' THEN v.k ELSE '' END",
        },
        f"FROM {values} v WHERE NOT EXISTS (SELECT 1 FROM {rep} r WHERE r.distributor_id = {tenant}"
        " AND (r.rep_id = v.k OR (r.email <> '' AND lower(r.email) = lower(v.k))))",
        conflict=["rep_id"],
    )
    referenced = _count(cursor, f"SELECT count(*) FROM {values}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {repmap} AS SELECT v.k AS k, COALESCE("
        f"(SELECT r.id FROM {rep} r WHERE r.distributor_id = {tenant} AND r.rep_id = v.k),"
        f" (SELECT MIN(r.id) FROM {rep} r WHERE r.distributor_id = {tenant} AND r.email <> ''"
        f" AND lower(r.email) = lower(v.k))) AS rep_pk FROM {values} v",
        [],
    )
    _analyze(cursor, repmap)
    return repmap, {"created": created, "unchanged": referenced - created}


def _customers_named(cursor, stage: Stage, tenant: int, present: set[str]) -> dict:
    """Create the customers that lines or interactions name and the tenant does not have yet (see
    `LINE_ENTITIES`: no home branch or assigned rep from a sale or an interaction)."""
    collected = stage.entity_table("customers")
    if collected is not None:
        table, collected_columns = collected
        columns = {"distributor_id": str(tenant), "customer_id": "s.customer_id"}
        for source, target in (("customer_name", "name"), ("customer_class", "customer_class")):
            if source in collected_columns:
                columns[target] = _text(f"s.{source}")
        candidates, created = _insert_new(
            cursor, Customer, columns, f"FROM {table} s WHERE true", conflict=["customer_id"]
        )
        return {"created": created, "unchanged": candidates - created}
    columns = {"distributor_id": str(tenant), "customer_id": "s.customer_id"}
    for source, target in (("customer_name", "name"), ("customer_class", "customer_class")):
        if source in present:
            columns[target] = _text(f"MAX(s.{source})")
    candidates, created = _insert_new(
        cursor,
        Customer,
        columns,
        f"FROM {stage.name} s WHERE true",
        conflict=["customer_id"],
        group_by="GROUP BY s.customer_id",
    )
    return {"created": created, "unchanged": candidates - created}


def _products_named(cursor, stage: Stage, tenant: int) -> dict:
    table, collected = stage.entity_table("products")
    columns = {"distributor_id": str(tenant), "product_id": "s.product_id"}
    for source, target in (("product_name", "name"), ("category", "category"), ("brand", "brand")):
        if source in collected:
            columns[target] = _text(f"s.{source}")
    if "supplier_id" in collected:
        columns["supplier_id"] = _text("s.supplier_id")
    candidates, created = _insert_new(cursor, Product, columns, f"FROM {table} s WHERE true", conflict=["product_id"])
    return {"created": created, "unchanged": candidates - created}


def _partners_named(cursor, stage: Stage, tenant: int) -> dict:
    candidates, created = _insert_new(
        cursor,
        Partner,
        {"distributor_id": str(tenant), "partner_id": "s.partner_id", "name": "s.partner_id"},
        f"FROM (SELECT DISTINCT partner_id FROM {stage.name} WHERE partner_id IS NOT NULL AND partner_id <> '') s"
        " WHERE true",
        conflict=["partner_id"],
    )
    return {"created": created, "unchanged": candidates - created}


def _merge_invoice_lines(cursor, stage: Stage, tenant: int, present: set[str], counts: dict, progress) -> None:
    repmap = None
    if "rep_id" in present:
        repmap, counts["reps"] = _reps(cursor, stage, tenant)
    counts["customers"] = _customers_named(cursor, stage, tenant, present)
    counts["products"] = _products_named(cursor, stage, tenant)
    if "partner_id" in present:
        counts["partners"] = _partners_named(cursor, stage, tenant)
    _analyze_created(cursor, counts)
    columns = {
        "distributor_id": str(tenant),
        "invoice_id": "s.invoice_id",
        "line_no": line_no_expr(stage, present),
        "invoice_date": "s.invoice_date",
        "customer_id": "c.id",
        "product_id": "p.id",
        "quantity": "s.quantity",
        "revenue": "s.revenue",
        "cost": "s.cost",
    }
    update = ["invoice_date", "customer_id", "product_id", "quantity", "revenue", "cost"]
    joins = (
        f" JOIN {_table(Customer)} c ON c.distributor_id = {tenant} AND c.customer_id = s.customer_id"
        f" JOIN {_table(Product)} p ON p.distributor_id = {tenant} AND p.product_id = s.product_id"
    )
    _take_present(
        columns,
        update,
        present,
        text=("ship_method", "branch", "channel"),
        flags=("special_order",),
        plain=("days_to_pay",),
    )
    joins += _join_reps(columns, update, repmap)
    if "partner_id" in present:
        columns["partner_id"] = "pa.id"
        update.append("partner_id")
        joins += f" LEFT JOIN {_table(Partner)} pa ON pa.distributor_id = {tenant} AND pa.partner_id = s.partner_id"
    created, updated = _upsert(
        cursor,
        stage,
        InvoiceLine,
        columns,
        f"FROM {stage.name} s{joins} WHERE true",
        conflict=["invoice_id", "line_no"],
        update=update,
        tenant=tenant,
    )
    counts["invoice_lines"] = {"created": created, "updated": updated, "unchanged": stage.rows - created - updated}
    if created >= 10_000:
        _analyze(cursor, _table(InvoiceLine))
    refresh_summaries(cursor, stage, tenant, full=updated > 0, skip=created + updated == 0)


def _analyze_created(cursor, counts: dict) -> None:
    tables = {"customers": Customer, "products": Product, "partners": Partner, "reps": Rep}
    _analyze(cursor, *(_table(model) for entity, model in tables.items() if counts.get(entity, {}).get("created")))


def refresh_summaries(cursor, stage: Stage | None, tenant: int, *, full: bool, skip: bool = False) -> None:
    """Recompute the line summaries (`sales.summaries`): for the customers the file names (new lines only
    add to their own customers), or for the whole tenant when lines were updated (an updated line may
    have moved from one customer or month to another)."""
    if skip:
        return
    if full or stage is None:
        summaries.refresh(cursor, tenant=tenant)
        return
    affected = stage.sub("cust")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {affected} AS SELECT c.id AS customer_pk FROM {_table(Customer)} c"
        f" WHERE c.distributor_id = {tenant} AND c.customer_id IN (SELECT customer_id FROM {stage.name})",
        [],
    )
    _analyze(cursor, affected)
    summaries.refresh(cursor, tenant=tenant, customers=f"SELECT customer_pk FROM {affected}")


def _merge_customers(cursor, stage: Stage, tenant: int, present: set[str], counts: dict, progress) -> None:
    repmap = None
    if "rep_id" in present:
        repmap, counts["reps"] = _reps(cursor, stage, tenant)
    columns = {"distributor_id": str(tenant), "customer_id": "s.customer_id"}
    update = []
    text = (
        "name",
        "customer_class",
        "supply_chain_role",
        "industry",
        "branch",
        "region",
        "preferred_ship_method",
        "reasons_for_purchase",
        "parent_customer_id",
    )
    _take_present(columns, update, present, text=text, plain=("potential_annual_spend", "credit_terms_days"))
    joins = _join_reps(columns, update, repmap)
    _simple_upsert(cursor, stage, Customer, columns, update, ["customer_id"], tenant, counts, "customers", joins)


def _merge_products(cursor, stage: Stage, tenant: int, present: set[str], counts: dict, progress) -> None:
    columns = {"distributor_id": str(tenant), "product_id": "s.product_id"}
    update = []
    _take_present(
        columns,
        update,
        present,
        text=("name", "category", "brand", "supplier_id"),
        plain=("is_stock", "replacement_cycle_days"),
    )
    _simple_upsert(cursor, stage, Product, columns, update, ["product_id"], tenant, counts, "products")
    if "category" in present and counts["products"]["updated"]:
        summaries.refresh_categories(cursor, tenant=tenant)  # the customers' categories follow their products


def _merge_partners(cursor, stage: Stage, tenant: int, present: set[str], counts: dict, progress) -> None:
    columns = {"distributor_id": str(tenant), "partner_id": "s.partner_id"}
    update = []
    _take_present(
        columns,
        update,
        present,
        text=("name", "kind", "region", "supports_customer", "services", "why_customers_use_it"),
    )
    _simple_upsert(cursor, stage, Partner, columns, update, ["partner_id"], tenant, counts, "partners")


def _merge_interactions(cursor, stage: Stage, tenant: int, present: set[str], counts: dict, progress) -> None:
    repmap = None
    if "rep_id" in present:
        repmap, counts["reps"] = _reps(cursor, stage, tenant)
    counts["customers"] = _customers_named(cursor, stage, tenant, set())
    _analyze_created(cursor, counts)
    columns = {
        "distributor_id": str(tenant),
        "natural_key": "s.natural_key",
        "customer_id": "c.id",
        "date": "s.date",
        "kind": "COALESCE(NULLIF(s.kind, ''), 'other')" if "kind" in present else "'other'",
    }
    update = ["customer_id", "date", "kind"]
    joins = f" JOIN {_table(Customer)} c ON c.distributor_id = {tenant} AND c.customer_id = s.customer_id"
    _take_present(columns, update, present, text=("channel", "summary", "usage_notes"), flags=("opportunity",))
    joins += _join_reps(columns, update, repmap)
    _simple_upsert(cursor, stage, Interaction, columns, update, ["natural_key"], tenant, counts, "interactions", joins)


def _simple_upsert(cursor, stage, model, columns, update, conflict, tenant, counts, label, joins="") -> None:
    from_sql = f"FROM {stage.name} s{joins} WHERE true"
    if update:
        created, updated = _upsert(
            cursor, stage, model, columns, from_sql, conflict=conflict, update=update, tenant=tenant
        )
    else:
        _, created = _insert_new(cursor, model, columns, from_sql, conflict=conflict)
        updated = 0
    counts[label] = {"created": created, "updated": updated, "unchanged": stage.rows - created - updated}


def _merge_inventory(cursor, stage: Stage, tenant: int, present: set[str], counts: dict, progress) -> None:
    """Stock per (product, branch): the product by the tenant's SKU (checked to exist before the merge),
    an empty branch for the single stock point, nothing on order when the column is absent or blank."""
    columns = {
        "distributor_id": str(tenant),
        "product_id": "p.id",
        "branch": _text("s.branch"),
        "on_hand": "s.on_hand",
        "on_order": "COALESCE(s.on_order, 0)" if "on_order" in present else "0",
    }
    update = ["on_hand", "on_order"]
    _take_present(columns, update, present, plain=("lead_time_days", "as_of"))
    joins = f" JOIN {_table(Product)} p ON p.distributor_id = {tenant} AND p.product_id = s.product_id"
    _simple_upsert(
        cursor, stage, Inventory, columns, update, ["product_id", "branch"], tenant, counts, "inventory", joins
    )


MERGES = {
    "invoice_lines": _merge_invoice_lines,
    "customers": _merge_customers,
    "products": _merge_products,
    "partners": _merge_partners,
    "interactions": _merge_interactions,
    "inventory": _merge_inventory,
}


def _progress(progress, percent: float, message: str = "") -> None:
    if progress is not None:
        progress(percent, message)


MERGE_WORK_MEM = "256MB"


def merge(stage: Stage, *, distributor, present: set[str], progress=None, before_commit=None) -> dict:
    """Write the staged rows into the tenant's tables in one transaction. Returns
    {"created": {entity: n}, "updated": {...}, "unchanged": {...}}. Progress is reported before the
    transaction, and once inside it just before the commit (the job's reporter hands that write to its
    heartbeat thread), where a cancel request raises and rolls the whole merge back. `before_commit()`
    is the transaction's last statement (a job's fence: only the attempt that owns it commits)."""
    _progress(progress, 75, f"Writing {stage.rows:,} rows…")
    stage.analyze()
    tenant = int(distributor.pk)
    counts: dict[str, dict] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            # One merge at a time per tenant: two imports naming the same new key must not both insert it.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK, tenant])
            # The merge and the summaries group and sort the whole stage and the tenant's lines: with
            # the default 4 MB each GROUP BY spills to disk in batches.
            cursor.execute(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'")
        MERGES[stage.kind.name](cursor, stage, tenant, present, counts, progress)
        # An import may add customers or give them another rep (its own merge or the lines' customers).
        assignment_changed(tenant)
        # The last report, just before the commit: a cancel asked for during the merge rolls it back.
        _progress(progress, 97, "Committing…")
        if before_commit is not None:
            before_commit()
    summary = {"created": {}, "updated": {}, "unchanged": {}}
    for entity, entity_counts in counts.items():
        for what in summary:
            if what in entity_counts:
                summary[what][entity] = entity_counts[what]
    return summary
