"""Every tenant table can be distributed by `distributor_id` (Citus, docs/SCALING.md "Citus").

Citus enforces a primary key or a unique constraint only when it includes the distribution column;
non-unique indexes are built on each shard as they are. This walks every model with a `distributor`
field and reads its table's constraints from the database itself (so indexes added by hand-written
migrations count too): every unique constraint and unique index must include distributor_id, or be one
of the documented exceptions below, each with its fix. The surrogate primary key `id` (one sequence for
all tenants) is the one exception every table shares: its fix is in SCALING.md (the Citus migration
makes it (distributor_id, id); ids stay unique since they come from one sequence)."""

import pytest
from django.apps import apps
from django.db import connection

# (table, columns) -> the fix, as SCALING.md describes it. Keep in step with the document.
UNIQUE_EXCEPTIONS: dict[tuple[str, tuple[str, ...]], str] = {
    ("accounts_invitation", ("token",)): (
        "An invitation link carries no tenant, so its token is unique across tenants: keep invitations "
        "on the coordinator as a reference table (a few rows per tenant), or put the tenant's slug in the "
        "link and make the constraint (distributor_id, token)."
    ),
    ("segments_stratificationrun", ("job_id",)): (
        "OneToOneField run -> job: replace by UniqueConstraint(distributor, job) (job ids are unique "
        "already; the run and its job are co-located on the tenant's shard)."
    ),
}


def tenant_models():
    return [
        m
        for m in apps.get_models()
        if any(f.name == "distributor" for f in m._meta.concrete_fields) and not m._meta.proxy
    ]


def test_there_are_tenant_tables_to_check():
    tables = {m._meta.db_table for m in tenant_models()}
    assert {"sales_invoiceline", "sales_customer", "jobs_job"} <= tables, sorted(tables)


@pytest.mark.django_db
def test_every_unique_constraint_of_a_tenant_table_includes_distributor_id():
    problems, exceptions_used = [], set()
    with connection.cursor() as cursor:
        for model in tenant_models():
            table = model._meta.db_table
            for name, info in connection.introspection.get_constraints(cursor, table).items():
                columns = tuple(info["columns"] or ())
                if info["primary_key"]:
                    if "distributor_id" not in columns and columns != ("id",):
                        problems.append(f"{table}: primary key {columns}")
                    continue
                if not info["unique"] or "distributor_id" in columns:
                    continue
                if (table, columns) in UNIQUE_EXCEPTIONS:
                    exceptions_used.add((table, columns))
                    continue
                problems.append(f"{table}: unique {name} on {columns} lacks distributor_id")
    assert not problems, "\n".join(problems)
    assert exceptions_used == set(UNIQUE_EXCEPTIONS), "an exception is listed that no longer exists"


def test_every_tenant_pk_includes_distributor_id_or_is_the_shared_surrogate_id():
    """Composite keys include distributor_id; the others are the one documented exception, a single
    bigint `id` from one sequence (fix: (distributor_id, id))."""
    odd = []
    for model in tenant_models():
        columns = [f.column for f in model._meta.pk_fields]
        if columns != ["id"] and "distributor_id" not in columns:
            odd.append((model.__name__, columns))
    assert not odd, odd
