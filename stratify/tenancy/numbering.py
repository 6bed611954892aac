"""Per-tenant numbers: a tenant's first run (or job) is #1 whatever other tenants did, so pages, URLs
and the API never reveal another tenant's activity volume through a database id.

A numbered model (`TenantNumbered`) gets `number` when it is first saved: the tenant's highest number
plus one, read and inserted in one transaction under the tenant's numbering lock (PostgreSQL: an
advisory transaction lock on (NUMBERING_LOCK, tenant), shared by every numbered model; SQLite: the
write lock an IMMEDIATE transaction takes at BEGIN), so two requests never read the same highest
number. The unique constraint (distributor, number) guards it anyway: should an insert still collide
(a caller's transaction that began before the lock, on SQLite), it is retried with the next number.
The lock is held until the caller's transaction ends, like the unique index's own wait would be.
Numbers are not reused unless the newest row is deleted (jobs and runs never are)."""

from __future__ import annotations

from django.db import IntegrityError, connections, models, transaction

ATTEMPTS = 8
NUMBERING_LOCK = 0x2B1  # advisory lock namespace of per-tenant numbering (the second key is the tenant)


def next_number(model, distributor_id: int) -> int:
    top = model._base_manager.filter(distributor_id=distributor_id).aggregate(top=models.Max("number"))["top"]
    return (top or 0) + 1


def save_numbered(instance, save, *args, **kwargs) -> None:
    """Save a new `instance` with the tenant's next number (see the module's docstring)."""
    model, using = type(instance), kwargs.get("using") or "default"
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic(using=using):
                connection = connections[using]
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT pg_advisory_xact_lock(%s, %s)", [NUMBERING_LOCK, instance.distributor_id]
                        )
                instance.number = next_number(model, instance.distributor_id)
                save(*args, **kwargs)
            return
        except IntegrityError:
            taken = model._base_manager.filter(distributor_id=instance.distributor_id, number=instance.number).exists()
            instance.number = None
            if not taken or attempt == ATTEMPTS - 1:
                raise  # another constraint, or a snapshot that cannot see the winner: retrying cannot help


class TenantNumbered(models.Model):
    """Abstract: a per-tenant `number` (assigned on first save). Subclasses declare the unique
    constraint (distributor, number), which both guards the race and serves the lookups."""

    number = models.PositiveIntegerField(editable=False, help_text="Per tenant: 1, 2, 3... (shown instead of the id)")

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._state.adding and self.number is None:
            return save_numbered(self, super().save, *args, **kwargs)
        return super().save(*args, **kwargs)


def backfill(model) -> None:
    """Number the existing rows of `model` per tenant, in creation order (for the migrations that add
    the field; works on historical models)."""
    rows = model._base_manager.order_by("distributor_id", "created_at", "id").values_list("id", "distributor_id")
    batch, tenant, number = [], None, 0
    for pk, distributor_id in rows.iterator(chunk_size=2000):
        number = number + 1 if distributor_id == tenant else 1
        tenant = distributor_id
        batch.append(model(id=pk, number=number))
        if len(batch) >= 1000:
            model._base_manager.bulk_update(batch, ["number"])
            batch = []
    if batch:
        model._base_manager.bulk_update(batch, ["number"])
