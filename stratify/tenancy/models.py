"""The abstract base of every tenant-owned model."""

from django.db import models
from django_scopes import ScopedManager


class TenantOwnedModel(models.Model):
    """A row that belongs to one distributor. Querying it outside `scope(distributor=...)` raises.

    `distributor` is not indexed on its own: every unique constraint and hot index of a subclass
    starts with it (which also keeps the door open to distributing tables by tenant)."""

    distributor = models.ForeignKey("accounts.Distributor", on_delete=models.CASCADE, db_index=False, related_name="+")

    objects = ScopedManager(distributor="distributor")

    class Meta:
        abstract = True
