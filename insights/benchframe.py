"""The per-run, per-customer table every benchmark reads (issue 16): one row per customer scored in a
run (its segment, previous segment and money figures, from `CustomerScore`) joined with the
customer's current attributes (rep, branch, class, region). Two queries, cached: the scores per run
(a run never changes), the attributes per run and per *assignment fingerprint* (one cheap aggregate
over the tenant's customers), so a rep re-assignment shows at once while the frame is not rebuilt on
every visit.

Slices (`?slice_by=<dimension>&slice=<value>`) keep the rows of one value of a customer attribute:
the figures recompute from this table, without re-running the model. Ranks and segments stay the
tenant's (a slice never re-ranks its customers).

Money is exact: per-customer amounts are read as Decimals (through the floats' shortest repr, as the
API and the exports show them) and summed as Decimals; rounded only when shown."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce

from sales.models import Customer
from segments.models import CustomerScore
from stratify.formatting import to_decimal

from .caching import run_cached

MONEY = ("revenue", "gross_margin", "cost_to_serve", "net_profit")
SCORE_COLUMNS = ("customer", "segment", "previous_segment", *MONEY, "categories")
CUSTOMER_COLUMNS = ("customer", "account", "name", "rep", "rep_code", "branch", "customer_class", "region")
# The slice dimensions: query value -> (label, frame column).
SLICES: dict[str, tuple[str, str]] = {
    "branch": ("Branch", "branch"),
    "customer_class": ("Customer class", "customer_class"),
    "region": ("Region", "region"),
    "rep": ("Assigned rep", "rep_code"),
}
NONE_VALUE = "(none)"  # the empty value of a slice dimension, as PROFIT_CENTERS.md names it
ZERO = Decimal(0)


def _money(value) -> Decimal:
    amount = to_decimal(value)
    return ZERO if amount is None or not amount.is_finite() else amount


def score_frame(distributor, run) -> pd.DataFrame:
    """The run's scores, one row per customer (lapsed ones included): `SCORE_COLUMNS`, money as
    Decimal (missing: 0). One query, cached per run."""

    def compute():
        rows = list(
            CustomerScore.objects.filter(distributor=distributor, run=run)
            .order_by()
            .values_list("customer_id", "segment", "previous_segment", *MONEY, "categories")
            .iterator(chunk_size=10000)
        )
        frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
        for name in MONEY:
            frame[name] = pd.Series([_money(v) for v in frame[name]], index=frame.index, dtype=object)
        frame["previous_segment"] = frame["previous_segment"].fillna("")
        return frame

    return run_cached(distributor, run, "bench_scores", compute)


def assignment_stamp(distributor) -> str:
    """A fingerprint of the tenant's customers and their reps (one aggregate query): changes when a
    customer is added or re-assigned."""
    agg = Customer.objects.filter(distributor=distributor).aggregate(
        n=Count("id"), s=Coalesce(Sum(F("id") * Coalesce(F("rep_id"), 0)), 0), r=Coalesce(Sum("rep_id"), 0)
    )
    return f"{agg['n']}-{agg['s']}-{agg['r']}"


def customer_frame(distributor, run, stamp: str) -> pd.DataFrame:
    """The tenant's customers' current attributes (`CUSTOMER_COLUMNS`; empty text for a missing
    rep/branch/class/region). One query, cached per run and assignment stamp."""

    def compute():
        rows = list(
            Customer.objects.filter(distributor=distributor)
            .order_by()
            .values_list("pk", "customer_id", "name", "rep_id", "rep__rep_id", "branch", "customer_class", "region")
            .iterator(chunk_size=10000)
        )
        frame = pd.DataFrame(rows, columns=list(CUSTOMER_COLUMNS))
        frame["rep"] = frame["rep"].astype("Int64")
        for name in ("rep_code", "branch", "customer_class", "region", "name"):
            frame[name] = frame[name].fillna("").astype(object)
        return frame

    return run_cached(distributor, run, f"bench_customers:{stamp}", compute)


def run_frame(distributor, run, stamp: str | None = None) -> pd.DataFrame:
    """Scores of `run` with their customers' attributes: one row per scored customer."""
    stamp = stamp or assignment_stamp(distributor)

    def compute():
        return score_frame(distributor, run).merge(customer_frame(distributor, run, stamp), on="customer", how="left")

    return run_cached(distributor, run, f"bench_frame:{stamp}", compute)


class SliceError(ValueError):
    """A slice dimension or value that does not exist; the message names the allowed ones."""


@dataclass(frozen=True)
class Slice:
    by: str = ""
    value: str = ""

    @property
    def active(self) -> bool:
        return bool(self.by)

    @property
    def label(self) -> str:
        return f"{SLICES[self.by][0]}: {self.value}" if self.by else ""

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({"slice_by": self.by, "slice": self.value}) if self.by else ""

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.by:
            return frame
        column = SLICES[self.by][1]
        wanted = "" if self.value == NONE_VALUE else self.value
        return frame[frame[column].fillna("") == wanted]


def slice_values(frame: pd.DataFrame, by: str) -> list[str]:
    """The values of slice dimension `by` among the frame's customers (the empty one as "(none)")."""
    column = SLICES[by][1]
    values = {v or NONE_VALUE for v in frame[column].fillna("").unique()}
    return sorted(values)


def parse_slice(params, frame: pd.DataFrame | None) -> Slice:
    """The slice asked for by `?slice_by=&slice=` (none: the whole tenant). Raises SliceError naming
    the allowed dimensions, or the allowed values of the dimension, for anything else."""
    by = (params.get("slice_by") or "").strip()
    value = (params.get("slice") or "").strip()
    if not by and not value:
        return Slice()
    if by not in SLICES:
        raise SliceError(f"Unknown slice dimension {by!r}: use one of {', '.join(SLICES)}.")
    allowed = slice_values(frame, by) if frame is not None else []
    if value not in allowed:
        shown = ", ".join(allowed[:50]) + (" ..." if len(allowed) > 50 else "")
        raise SliceError(f"Unknown {by} {value!r}: use one of {shown or '(no values)'}.")
    return Slice(by, value)


def dsum(values) -> Decimal:
    """The exact sum of Decimals."""
    total = ZERO
    for v in values:
        total += v
    return total


def ratio(part, whole) -> float | None:
    """part / whole as a float, None when whole <= 0."""
    if whole is None or whole <= 0:
        return None
    return float(Decimal(part) / Decimal(whole))
