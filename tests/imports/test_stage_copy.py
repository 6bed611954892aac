"""The staging table's chunks: on PostgreSQL each chunk's COPY runs on a background thread while the
next chunk is checked (imports.loading.Stage); whatever the thread does, the stage ends up with every
row in order, and a COPY that fails surfaces as an error of the import, not silently."""

import pandas as pd
import pytest
from django.db import connection

from imports.formats import get_kind
from imports.loading import Stage


def _frame(start: int, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(start, start + rows),
            "invoice_id": [f"INV-{i}" for i in range(start, start + rows)],
            "customer_id": "C1",
            "product_id": "P1",
            "invoice_date": "2026-01-31",
            "quantity": 1,
            "revenue": "10.50",
            "cost": "7.25",
        }
    )


@pytest.mark.django_db
def test_every_chunk_lands_in_the_stage():
    with Stage(get_kind("invoice_lines")) as stage:
        for start in range(0, 5_000, 1_000):
            stage.append(_frame(start, 1_000))
        stage.finish()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), count(DISTINCT invoice_id), min(_row), max(_row) FROM {stage.name}")
            assert cursor.fetchone() == (5_000, 5_000, 0, 4_999)
        assert stage.rows == 5_000


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_failed_background_copy_is_raised():
    bad = _frame(0, 10)
    bad.loc[3, "invoice_date"] = "not a date"  # the database rejects it (validation never lets it through)
    with Stage(get_kind("invoice_lines")) as stage:
        stage.append(bad)
        with pytest.raises(Exception, match="date"):
            stage.finish()
