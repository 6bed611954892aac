"""Fixtures of the import tests: a private MEDIA_ROOT, file writers and row counters."""

import pytest
from django_scopes import scopes_disabled

from channels.models import Interaction, Partner
from imports.services import import_run_now, import_start
from sales.models import (
    Customer,
    CustomerCategory,
    CustomerInvoice,
    CustomerMonth,
    CustomerProductRecency,
    InvoiceLine,
    Product,
    Rep,
)

MODELS = {
    "invoice_lines": InvoiceLine,
    "customers": Customer,
    "products": Product,
    "partners": Partner,
    "reps": Rep,
    "interactions": Interaction,
    "customer_months": CustomerMonth,
    "customer_invoices": CustomerInvoice,
    "customer_product_recency": CustomerProductRecency,
    "customer_categories": CustomerCategory,
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def table_counts(distributor) -> dict[str, int]:
    with scopes_disabled():
        return {name: model.objects.filter(distributor=distributor).count() for name, model in MODELS.items()}


@pytest.fixture
def write_file(tmp_path):
    def write(content: bytes | str, name: str = "data.csv", encoding: str = "utf-8"):
        path = tmp_path / name
        path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def run_import(write_file):
    """Import `content` into the tenant in this process; returns the finished Job."""

    def run(t, kind, content, *, name="data.csv", encoding="utf-8", mapping=None, date_format=None):
        path = content if hasattr(content, "is_file") else write_file(content, name, encoding)
        job = import_start(
            distributor=t.distributor,
            actor=t.manager,
            kind=kind,
            path=path,
            mapping=mapping,
            date_format=date_format,
            dispatch=False,
        )
        return import_run_now(job)

    return run
