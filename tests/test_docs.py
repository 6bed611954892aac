"""The product's own docs stay true to the code: every import column is documented, and the pages
the README points to exist."""

import re
from pathlib import Path

from imports import formats

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_column_is_documented():
    doc = (ROOT / "docs/DATA_FORMAT.md").read_text()
    kinds = formats.KINDS.values() if isinstance(formats.KINDS, dict) else formats.KINDS
    for kind in kinds:
        assert f"### `{kind.name}`" in doc
        for column in kind.columns:
            assert f"| `{column.name}` |" in doc, (kind.name, column.name)


def test_the_docs_the_readme_links_exist():
    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\((docs/[^)#]+)\)", readme) + re.findall(r"`(docs/[\w./-]+\.md)`", readme):
        assert (ROOT / link).exists(), link


def test_the_worked_example_of_the_model_page_is_what_the_engine_computes():
    from datetime import date
    from decimal import Decimal

    import pandas as pd

    from stratify.engine import ModelSettings, aggregate_lines, stratify

    def line(invoice, day, revenue, cost, *, qty=1, special=False, days=None):
        return {
            "invoice_id": invoice,
            "invoice_date": day,
            "customer_id": "ACME",
            "product_id": f"P{revenue}",
            "category": "Pipe",
            "quantity": Decimal(qty),
            "revenue": Decimal(revenue),
            "cost": Decimal(cost),
            "ship_method": "delivery",
            "special_order": special,
            "days_to_pay": days,
        }

    lines = [
        line("I1", date(2026, 3, 2), "1200", "900", days=40),
        line("I1", date(2026, 3, 2), "800", "560", days=40),
        line("I1", date(2026, 3, 2), "400", "300", days=40),
        line("I2", date(2026, 6, 15), "600", "420", days=30),
        line("I2", date(2026, 6, 15), "300", "210", special=True, days=30),
        line("I2", date(2026, 6, 15), "150", "100", days=30),
        line("I3", date(2026, 9, 20), "900", "630", days=45),
        line("I3", date(2026, 9, 20), "-150", "-100", qty=-1),
    ]
    aggregates, deliveries = aggregate_lines(pd.DataFrame(lines), as_of=date(2026, 11, 30), window_days=365)
    row = stratify(aggregates, deliveries, ModelSettings()).scores.set_index("customer_id").loc["ACME"]
    doc = (ROOT / "docs/STRATIFICATION.md").read_text()
    assert Decimal(str(row["revenue"])).quantize(Decimal("0.01")) == Decimal("4200.00")
    assert f"{row['gross_margin']:,.2f}" == "1,180.00" and "**gross margin 1,180.00**" in doc
    assert f"{row['cost_to_serve']:,.2f}" == "226.03" and "**Total 226.03.**" in doc
    assert f"{row['net_profit']:,.2f}" == "953.97" and "**Net profit 953.97**" in doc
