"""The per-run, per-customer table every benchmark reads (issue 16): one row per customer scored in a
run (its segment, previous segment and money figures, from `CustomerScore`) joined with the
customer's current attributes (rep, branch, class, region). Two queries, cached: the scores per run
(a run never changes), the attributes per run and per *assignment fingerprint*
(`sales.selectors.assignment_stamp`: one aggregate over the tenant's customers, itself cached for a
few seconds and dropped by the writes that re-assign customers), so a rep re-assignment shows at once
while the frame is not rebuilt on every visit.

Slices (`?slice_by=<dimension>&slice=<value>`) keep the rows of one value of a customer attribute:
the figures recompute from this table, without re-running the model. Ranks and segments stay the
tenant's (a slice never re-ranks its customers).

Money: the per-customer amounts are the floats the run stored; sums are exact over them
(`math.fsum`, correctly rounded) and become Decimals, rounded to the cent only when shown. The frames
keep numpy columns so that they pickle into the cache cheaply."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from sales.models import Customer
from sales.selectors import assignment_stamp
from segments.models import CustomerScore

from .caching import run_cached

MONEY = ("revenue", "gross_margin", "cost_to_serve", "net_profit")
SCORE_COLUMNS = ("customer", "segment", "previous_segment", *MONEY, "categories")
CUSTOMER_COLUMNS = (
    "customer",
    "account",
    "name",
    "rep",
    "rep_code",
    "branch",
    "customer_class",
    "region",
    "industry",
    "supply_chain_role",
)
# The slice dimensions: query value -> (label, frame column).
SLICES: dict[str, tuple[str, str]] = {
    "branch": ("Branch", "branch"),
    "customer_class": ("Customer class", "customer_class"),
    "region": ("Region", "region"),
    "rep": ("Assigned rep", "rep_code"),
}
NONE_VALUE = "(none)"  # the empty value of a slice dimension, as PROFIT_CENTERS.md names it
ZERO = Decimal(0)


def score_frame(distributor, run) -> pd.DataFrame:
    """The run's scores, one row per customer (lapsed ones included): `SCORE_COLUMNS`, money as the
    floats the run stored (missing: 0). One query, cached per run."""

    def compute():
        rows = list(
            CustomerScore.objects.filter(distributor=distributor, run=run)
            .order_by()
            .values_list("customer_id", "segment", "previous_segment", *MONEY, "categories")
            .iterator(chunk_size=10000)
        )
        frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
        for name in MONEY:
            frame[name] = frame[name].astype("float64").fillna(0.0)
        frame["categories"] = frame["categories"].astype("float64")
        frame["previous_segment"] = frame["previous_segment"].fillna("")
        return frame

    return run_cached(distributor, run, "bench_scores", compute)


def customer_frame(distributor, run, stamp: str) -> pd.DataFrame:
    """The tenant's customers' current attributes (`CUSTOMER_COLUMNS`; empty text for a missing
    rep/branch/class/region). One query, cached per run and assignment stamp."""

    def compute():
        rows = list(
            Customer.objects.filter(distributor=distributor)
            .order_by()
            .values_list(
                "pk",
                "customer_id",
                "name",
                "rep_id",
                "rep__rep_id",
                "branch",
                "customer_class",
                "region",
                "industry",
                "supply_chain_role",
            )
            .iterator(chunk_size=10000)
        )
        frame = pd.DataFrame(rows, columns=list(CUSTOMER_COLUMNS))
        frame["rep"] = frame["rep"].astype("Int64")
        for name in ("rep_code", "branch", "customer_class", "region", "industry", "supply_chain_role", "name"):
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


def slice_choices(distributor, run, stamp: str) -> dict[str, list[str]]:
    """Per slice dimension, the values among the tenant's customers (cached per run and stamp)."""

    def compute():
        customers = customer_frame(distributor, run, stamp)
        return {by: slice_values(customers, by) for by in SLICES}

    return run_cached(distributor, run, f"slice_choices:{stamp}", compute)


def parse_slice(params, choices: dict[str, list[str]] | None) -> Slice:
    """The slice asked for by `?slice_by=&slice=` (none: the whole tenant), given the allowed values
    (`slice_choices`). Raises SliceError naming the allowed dimensions, or the allowed values of the
    dimension, for anything else."""
    by = (params.get("slice_by") or "").strip()
    value = (params.get("slice") or "").strip()
    if not by and not value:
        return Slice()
    if by not in SLICES:
        raise SliceError(f"Unknown slice dimension {by!r}: use one of {', '.join(SLICES)}.")
    allowed = (choices or {}).get(by, [])
    if value not in allowed:
        shown = ", ".join(allowed[:50]) + (" ..." if len(allowed) > 50 else "")
        raise SliceError(f"Unknown {by} {value!r}: use one of {shown or '(no values)'}.")
    return Slice(by, value)


def dsum(values) -> Decimal:
    """The exact sum of the stored amounts (floats: `math.fsum`, correctly rounded; Decimals added
    exactly), as a Decimal through the float's shortest repr."""
    values = list(values)
    if values and isinstance(values[0], Decimal):
        total = ZERO
        for v in values:
            total += v
        return total
    return Decimal(repr(math.fsum(values))) if values else ZERO


def ratio(part, whole) -> float | None:
    """part / whole as a float, None when whole <= 0."""
    if whole is None or whole <= 0:
        return None
    return float(Decimal(part) / Decimal(whole))


def slice_cached(distributor, run, stamp: str, cut: Slice, name: str, compute):
    """`compute()` cached per run, assignment stamp and slice (the figures a sliced page shows)."""
    return run_cached(distributor, run, f"{name}:{stamp}:{cut.by}={cut.value}", compute)
