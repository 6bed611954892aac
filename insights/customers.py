"""What the customer pages read: the my-customers rows (customers with their score in the published
run), a customer's monthly trend, and the customer page's context (its category gaps against core
customers come from `insights.gaps`)."""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache

from django.core.paginator import Paginator
from django.db.models import F, FilteredRelation, Max, Q, QuerySet

from channels.forms import InteractionForm
from channels.selectors import interaction_list
from sales.models import CustomerMonth, InvoiceLine
from sales.selectors import customer_list
from segments.policies import next_tier, policy_for_segment
from segments.selectors import policy_list, published_runs, run_window, score_for
from segments.vocabulary import SEGMENT_LABELS, movement_of, movement_rank_expr, segment_rank_expr
from stratify.tenancy.permissions import Perm, role_has

from .attention import attention_by_customer
from .explain import explain
from .gaps import gap_rows
from .gaps import split as gap_split

ROW_FIELDS: tuple[str, ...] = (
    "segment",
    "previous_segment",
    "revenue",
    "gm_pct",
    "net_profit",
    "growth",
    "recency_days",
    "value_score",
    "profit_score",
    "list_rank",
)
# The lists' default order: best segment first (core), then revenue, then account number; the first
# two are the run's stored `list_rank` (customers not in the run last).
DEFAULT_ORDER = (F("list_rank").asc(nulls_last=True), F("customer_id").asc())


class CustomerRows:
    """Mixed into `customer_rows`' queryset (`_customer_rows`). A slice in the default order (a page of
    the list) is read in two index-ordered parts instead of sorting every joined row: the customers
    ranked in the run by (list_rank, account) — an index range of the run's scores joined to the
    caller's customers — then, past them, the customers not in the run by account. Any other order,
    and a queryset evaluated whole, is plain SQL."""

    def __getitem__(self, k):
        if (
            isinstance(k, slice)
            and self._result_cache is None
            and k.step is None
            and (k.start or 0) >= 0
            and (k.stop is None or k.stop >= (k.start or 0))
            and tuple(self.query.order_by) == DEFAULT_ORDER
        ):
            return self._default_slice(k.start or 0, k.stop)
        return super().__getitem__(k)

    def _default_slice(self, start: int, stop: int | None) -> list:
        ranked = self.filter(list_rank__isnull=False).order_by("list_rank", "customer_id")
        rows = list(ranked[start:stop])
        wanted = None if stop is None else stop - start
        if wanted is not None and len(rows) >= wanted:
            return rows
        # Past the last ranked customer: the rest, by account (their offset counts the ranked ones).
        skip = 0 if rows else max(0, start - ranked.count())
        rest = self.filter(list_rank__isnull=True).order_by("customer_id")
        return rows + list(rest[skip : None if wanted is None else skip + wanted - len(rows)])


@cache
def _rows_class(base: type[QuerySet]) -> type[QuerySet]:
    return type(f"CustomerRows{base.__name__}", (CustomerRows, base), {})


def _customer_rows(qs: QuerySet) -> QuerySet:
    """`qs` (a customers queryset: django-scopes' scoped or disabled one) with CustomerRows' paging."""
    clone = qs._chain()
    clone.__class__ = _rows_class(type(qs))
    return clone


def customer_rows(*, distributor, membership, run):
    """The customers the caller may see (reps: their assigned ones), each annotated with its score in
    `run` (null when not in it): one LEFT JOIN, so filtering, sorting and paging stay in SQL.
    Default order (`DEFAULT_ORDER`): best segment first (core), then revenue, then account."""
    run_id = run.pk if run is not None else 0
    qs = _customer_rows(customer_list(distributor=distributor, membership=membership)).annotate(
        # The tenant in the join condition lets PostgreSQL use the (distributor, run, customer) unique
        # index (a nested loop over the rep's customers) instead of scanning every score of the run.
        current=FilteredRelation("scores", condition=Q(scores__run_id=run_id, scores__distributor_id=distributor.pk))
    )
    qs = qs.annotate(**{name: F(f"current__{name}") for name in ROW_FIELDS})
    qs = qs.annotate(seg_rank=segment_rank_expr("segment"), movement_rank=movement_rank_expr())
    return qs.select_related("rep").order_by(*DEFAULT_ORDER)


def _months_back(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, 1)


def _cents(amount) -> float:
    return float(Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def monthly_trend(*, distributor, customer, as_of: date | None, months: int = 24) -> list[dict]:
    """Revenue and gross margin per calendar month for the `months` months up to `as_of` (missing
    months are zero), from the precomputed CustomerMonth table. One query."""
    as_of = as_of or date.today()
    start = _months_back(as_of, months - 1)
    rows = CustomerMonth.objects.filter(
        distributor=distributor, customer=customer, month__gte=start, month__lte=as_of
    ).values_list("month", "revenue", "cost")
    # Cents rounded half-even from the exact sums (a float's round() would turn 2.675 into 2.67).
    by_month = {m.replace(day=1): (_cents(r), _cents(r - c)) for m, r, c in rows}
    out = []
    for i in range(months):
        month = _months_back(as_of, months - 1 - i)
        revenue, gm = by_month.get(month, (0.0, 0.0))
        out.append(
            {
                "month": month.strftime("%Y-%m"),
                "revenue": round(revenue, 2),
                "gross_margin": round(gm, 2),
                "gm_pct": round(gm / revenue * 100, 1) if revenue > 0 else None,
            }
        )
    return out


def _window(run) -> tuple[date, date]:
    window = run_window(run)
    return window.start, window.as_of


def no_score_reason(*, distributor, run, customer) -> dict | None:
    """Why a customer is not in the published run: its last purchase and the run's window (a customer
    with no purchase in the window, nor in the one before it, gets no score at all). None before any
    run is published."""
    if run is None:
        return None
    start, end = _window(run)
    last = InvoiceLine.objects.filter(distributor=distributor, customer=customer).aggregate(last=Max("invoice_date"))[
        "last"
    ]
    return {"start": start, "as_of": end, "window_days": (end - start).days + 1, "last_purchase": last}


INTERACTIONS_PER_PAGE = 10


def trend_columns(trend: list[dict], columns: int = 2) -> list[list[dict | None]]:
    """The monthly figures as a table of `columns` runs of months side by side (oldest first, down
    then across; None pads the last run): a fraction as tall, so a printed review or scorecard keeps
    every month."""
    rows = -(-len(trend) // columns)
    return [[trend[c * rows + r] if c * rows + r < len(trend) else None for c in range(columns)] for r in range(rows)]


def customer_page_context(
    *, distributor, membership, customer, interactions_page=1, interactions_per_page: int = INTERACTIONS_PER_PAGE
) -> dict:
    """Everything the customer page and the account review show; a fixed number of queries.
    Interactions come a page at a time (`interactions_page`, newest first)."""
    run, _previous = published_runs(distributor=distributor)
    score = score_for(distributor=distributor, run=run, customer=customer)
    policies = policy_list(distributor=distributor)
    segment = score.segment if score else None
    policy = policy_for_segment(policies, segment)
    trend = monthly_trend(distributor=distributor, customer=customer, as_of=run.as_of if run else None)
    interactions = Paginator(
        interaction_list(distributor=distributor, membership=membership, customer=customer).select_related(
            "rep", "created_by"
        ),
        interactions_per_page,
    ).get_page(interactions_page)
    gaps = gap_rows(distributor=distributor, run=run, customer=customer) if run else None
    mix = gaps["rows"] if gaps else []
    mix_top, mix_more = gap_split(mix)
    return {
        "customer": customer,
        "run": run,
        "score": score,
        "segment": segment,
        "segment_label": SEGMENT_LABELS.get(segment, ""),
        "movement": movement_of(segment, score.previous_segment if score else None),
        "previous_label": SEGMENT_LABELS.get(score.previous_segment, "") if score else "",
        "reasons": explain(score.explanation if score else None, distributor),
        "no_score": no_score_reason(distributor=distributor, run=run, customer=customer) if score is None else None,
        "attention": attention_by_customer(distributor=distributor, customers=[customer.pk]).get(customer.pk, []),
        "trend": trend,
        "trend_json": json.dumps(trend),
        "trend_columns": trend_columns(trend),
        "mix": mix,
        "mix_top": mix_top,
        "mix_more": mix_more,
        "gaps": gaps,
        "policy": policy,
        "next_policy": next_tier(policies, policy, segment=segment),
        "interactions": interactions,
        "interaction_form": InteractionForm() if role_has(membership.role, Perm.LOG_INTERACTIONS) else None,
    }
