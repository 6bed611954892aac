"""`manage.py export_scores SLUG RUN_ID|latest FILE.csv`: one row per customer of the run (`latest`: the
published run), with its segment, scores, ranks and every factor of STRATIFICATION.md, for a person:
segments by their labels, money rounded to the cent under a header naming the currency, ratios as
percentages (headers ending in "%"), scores and ranks to 4 decimals, counts as whole numbers. Cells go
through `stratify.exports.csv_cell` (account numbers and names are escaped against formula injection)."""

import csv
from decimal import Decimal

from django.core.management.base import BaseCommand
from django_scopes import scope

from segments import selectors
from segments.management.run_choice import tenant_and_finished_run
from segments.models import RANKED_FIELDS
from segments.vocabulary import FACTOR_LABELS, SEGMENT_LABELS
from stratify.engine.model import MONEY_FACTORS, RATIO_FACTORS
from stratify.exports import Money, Percent, csv_cell
from stratify.formatting import format_money

SCORE_COLUMNS = {
    "value_score": "Value score",
    "profit_score": "Profit score",
    "value_rank": "Value rank",
    "profit_rank": "Profit rank",
}


def headers(currency: str) -> list[str]:
    out = ["Account", "Customer"]
    for field in RANKED_FIELDS:
        if field == "segment":
            out.append("Segment")
        elif field == "previous_segment":
            out.append("Previous segment")
        elif field in SCORE_COLUMNS:
            out.append(SCORE_COLUMNS[field])
        elif field in MONEY_FACTORS:
            out.append(f"{FACTOR_LABELS[field]} ({currency})")
        elif field in RATIO_FACTORS:
            label = FACTOR_LABELS[field]
            out.append(label if label.endswith("%") else f"{label} %")
        else:
            out.append(FACTOR_LABELS[field])
    return out


def cell(field: str, value):
    if field in ("segment", "previous_segment"):
        return SEGMENT_LABELS.get(value, value or "")
    if value is None:
        return None
    if field in MONEY_FACTORS:
        return Money(value)
    if field in RATIO_FACTORS:
        return Percent(value)
    if field in SCORE_COLUMNS:
        return f"{value:.4f}"
    return int(value) if float(value).is_integer() else round(value, 2)


class Command(BaseCommand):
    help = "Export a run's customer scores to CSV."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("run", help="a run id, or 'latest' for the published run")
        parser.add_argument("path")

    def handle(self, slug, run, path, **options):
        distributor, chosen = tenant_and_finished_run(slug, run)
        with scope(distributor=distributor):
            rows = selectors.score_list(distributor=distributor, run=chosen).values_list(
                "customer__customer_id", "customer__name", *RANKED_FIELDS
            )
            count = 0
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(headers(distributor.currency))
                for account, name, *values in rows.iterator(chunk_size=5000):
                    cells = [account, name, *(cell(f, v) for f, v in zip(RANKED_FIELDS, values, strict=True))]
                    writer.writerow([csv_cell(c) for c in cells])
                    count += 1
        totals = chosen.totals or {}
        revenue = sum((Decimal(t.get("revenue", "0")) for t in totals.values()), Decimal(0))
        net_profit = sum((Decimal(t.get("net_profit", "0")) for t in totals.values()), Decimal(0))
        self.stdout.write(
            f"{count} customers of run #{chosen.number} written to {path} "
            f"(revenue {format_money(revenue, distributor)}, net profit {format_money(net_profit, distributor)})"
        )
