"""Read access to stratification profiles, runs and scores. Every selector takes the distributor
explicitly; customer-level reads go through `sales.selectors` rules (reps: assigned customers only)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.db.models import Avg, Count, F, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Membership
from sales.models import InvoiceLine
from sales.selectors import customer_list
from stratify.engine import ModelSettings
from stratify.published import RunWindow, register_window_provider
from stratify.tenancy.permissions import Role

from .aggregates import latest_invoice_date  # also the model page's default as-of date
from .models import (
    CustomerScore,
    ProfitCenter,
    ProfitCurve,
    SettingsChange,
    StratificationProfile,
    StratificationRun,
    TierNotice,
    TierPolicy,
    TierPolicyChange,
)
from .policies import AT_LEAST, LAPSED, METRICS, evaluate, metrics_towards, next_tier, policy_for_segment
from .vocabulary import SEGMENT_LABELS, SEGMENT_ORDER


def profile_get(*, distributor) -> StratificationProfile:
    """The tenant's profile (created with the tenant). Reading never writes: a tenant without one
    reads the defaults, an unsaved profile; services lock or create it with `profile_lock`."""
    profile = StratificationProfile.objects.filter(distributor=distributor).first()
    return profile if profile is not None else StratificationProfile(distributor=distributor)


def current_run(distributor) -> StratificationRun | None:
    """The published run every page shows, or None before the first publication."""
    profile = StratificationProfile.objects.filter(distributor=distributor).select_related("current_run").first()
    return profile.current_run if profile else None


def previous_run(distributor) -> StratificationRun | None:
    profile = StratificationProfile.objects.filter(distributor=distributor).select_related("previous_run").first()
    return profile.previous_run if profile else None


def run_window(run) -> RunWindow:
    """The days `run` ranks customers on (a queued run without its as-of date yet: ending today)."""
    window = int((run.settings or {}).get("window_days") or ModelSettings().window_days)
    return RunWindow(as_of=run.as_of or date.today(), window_days=window, run_id=run.number)


@register_window_provider
def published_window(*, distributor) -> RunWindow | None:
    """The published run's as-of date and window; before one is published, the window a run with the
    current settings would use (ending the latest invoice date). None without invoice lines."""
    run = current_run(distributor)
    if run is not None and run.as_of is not None:
        return run_window(run)
    latest = latest_invoice_date(distributor=distributor)
    if latest is None:
        return None
    settings = ModelSettings().with_overrides(profile_get(distributor=distributor).settings)
    return RunWindow(as_of=latest, window_days=int(settings.window_days))


def run_list(*, distributor, status: str | None = None) -> QuerySet[StratificationRun]:
    runs = StratificationRun.objects.filter(distributor=distributor).select_related("job", "compared_to")
    return runs.filter(status=status) if status else runs


def run_get(*, distributor, number: int) -> StratificationRun:
    """The tenant's run #`number` (per tenant, as pages, URLs and the API name it). Raises
    StratificationRun.DoesNotExist for a missing run (another tenant's runs are never found)."""
    return run_list(distributor=distributor).get(number=number)


def score_list(*, distributor, run=None, membership=None, segment: str | None = None) -> QuerySet[CustomerScore]:
    """Scores of `run` (default: the published run; none when nothing is published), with the customer.

    With a membership, a rep sees only the scores of their assigned customers and a customer user only
    its own row — the same visibility rule as `sales.selectors.customer_list`."""
    if run is None:
        run = current_run(distributor)
        if run is None:
            return CustomerScore.objects.filter(distributor=distributor).none()
    scores = CustomerScore.objects.filter(distributor=distributor, run=run).select_related("customer")
    if membership is not None:
        visible = customer_list(distributor=distributor, membership=membership)
        scores = scores.filter(customer__in=visible.values("pk"))
    if segment:
        scores = scores.filter(segment=segment)
    return scores.order_by("customer__customer_id")


def settings_history(*, distributor) -> QuerySet[SettingsChange]:
    return SettingsChange.objects.filter(distributor=distributor).select_related("changed_by")


def published_runs(*, distributor) -> tuple[StratificationRun | None, StratificationRun | None]:
    """(current, previous) published runs of the tenant; one query."""
    profile = (
        StratificationProfile.objects.filter(distributor=distributor)
        .select_related("current_run", "previous_run")
        .first()
    )
    if profile is None:
        return None, None
    return profile.current_run, profile.previous_run


def pending_run(*, distributor) -> StratificationRun | None:
    """A run of the tenant that is queued or running, if any."""
    return (
        run_list(distributor=distributor)
        .filter(status__in=[StratificationRun.Status.QUEUED, StratificationRun.Status.RUNNING])
        .first()
    )


def score_for(*, distributor, run, customer) -> CustomerScore | None:
    """The customer's score in `run` (None without a run, or when the customer is not in it)."""
    if run is None:
        return None
    return CustomerScore.objects.filter(distributor=distributor, run=run, customer=customer).first()


# --- tier policies ---------------------------------------------------------------------------------


def policy_list(*, distributor) -> list[TierPolicy]:
    """The tenant's tier policies, top tier first (created with the tenant: see
    `segments.services.policies.policies_create_defaults`)."""
    return list(TierPolicy.objects.filter(distributor=distributor).order_by("rank", "segment"))


def policy_get(*, distributor, segment: str) -> TierPolicy:
    for policy in policy_list(distributor=distributor):
        if policy.segment == segment:
            return policy
    raise TierPolicy.DoesNotExist(segment)


def policy_changes(*, distributor, limit: int = 50):
    return (
        TierPolicyChange.objects.filter(distributor=distributor)
        .select_related("policy", "changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )


# --- the ladder: customers' figures against the targets, tier history, suggestions, tier changes ------

SELF_SERVICE_CHANNELS = ("web", "edi")
TENTH = Decimal("0.1")


def _tenth(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(TENTH)


def _share(part, whole) -> Decimal | None:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH) if whole else None


def customer_figures(*, distributor, as_of: date | None, customers=None) -> dict[int, dict]:
    """Per customer pk, what the targets measure over the 365 days up to `as_of` (default today):
    purchases (net of returns), orders (distinct invoices among non-return lines), product
    categories bought, average order value (non-return purchases per order), average days to pay
    (per line), returns as a % of lines, and the % of orders placed on the web or EDI among the
    orders whose channel is known (None when none is). Money is exact (Decimal). One GROUP BY query
    on the (tenant, customer, date) index; `customers` (pks) narrows it."""
    as_of = as_of or date.today()
    lines = InvoiceLine.objects.filter(
        distributor=distributor, invoice_date__gt=as_of - timedelta(days=365), invoice_date__lte=as_of
    )
    if customers is not None:
        lines = lines.filter(customer_id__in=list(customers))
    kept = Q(quantity__gte=0, revenue__gte=0)
    known = kept & ~Q(channel="")
    self_service = Q()
    for channel in SELF_SERVICE_CHANNELS:
        self_service |= Q(channel__iexact=channel)
    rows = (
        lines.order_by()
        .values("customer_id")
        .annotate(
            purchases=Sum("revenue"),
            kept_revenue=Sum("revenue", filter=kept),
            orders=Count("invoice_id", filter=kept, distinct=True),
            categories=Count("product__category", filter=kept & ~Q(product__category=""), distinct=True),
            days_to_pay=Avg("days_to_pay"),
            lines=Count("id"),
            return_lines=Count("id", filter=~kept),
            known_orders=Count("invoice_id", filter=known, distinct=True),
            self_orders=Count("invoice_id", filter=known & self_service, distinct=True),
        )
    )
    out = {}
    for row in rows:
        orders = int(row["orders"] or 0)
        kept_revenue = Decimal(str(row["kept_revenue"] or 0))
        out[row["customer_id"]] = {
            "purchases": Decimal(str(row["purchases"] or 0)),
            "orders": orders,
            "categories": int(row["categories"] or 0),
            "average_order": (kept_revenue / orders).quantize(Decimal("0.01")) if orders else None,
            "days_to_pay": _tenth(row["days_to_pay"]),
            "returns_pct": _share(row["return_lines"], row["lines"]),
            "self_service_pct": _share(row["self_orders"], row["known_orders"]),
        }
    return out


EMPTY_FIGURES = {
    "purchases": Decimal(0),
    "orders": 0,
    "categories": 0,
    "average_order": None,
    "days_to_pay": None,
    "returns_pct": None,
    "self_service_pct": None,
}


def figures_for(*, distributor, customer, as_of: date | None) -> dict:
    return customer_figures(distributor=distributor, as_of=as_of, customers=[customer.pk]).get(
        customer.pk, dict(EMPTY_FIGURES)
    )


# Figures the data may simply not hold: the web/EDI share without a channel on the orders, the days to
# pay without payments imported, the returns' share without a line in the 12 months (a lapsed
# customer returned nothing: that is no missed ceiling). A target on one of them is not measured (left
# out, never "not met") for a customer without the figure.
MAY_BE_UNMEASURED = frozenset({"self_service_pct", "days_to_pay", "returns_pct"})


def goal_targets(*, policies, policy, figures: dict) -> tuple[str, object, list[dict]]:
    """("keep" or "reach", the tier aimed at, its targets this customer is shown evaluated against
    `figures`): the targets of the tier `policy` works towards, the behaviours its segment lacks; every
    target of its own tier at the top. The web/EDI share is left out when the customer's channels
    are unknown, the days to pay when no line of its 12 months has one (payments not imported): not
    measured, so neither met nor missed; targets the tier does not set are left out."""
    goal, aim, rows, _unmeasured = _goal_and_unmeasured(policies=policies, policy=policy, figures=figures)
    return goal, aim, rows


def _goal_and_unmeasured(*, policies, policy, figures: dict) -> tuple[str, object, list[dict], list]:
    """`goal_targets`, and the metrics of the targets it leaves out for want of the figure."""
    target = next_tier(policies, policy)
    goal, aim = ("reach", target) if target is not None else ("keep", policy)
    rows, unmeasured = [], []
    for metric in metrics_towards(policy.segment, target.segment if target else None):
        limit = getattr(aim, metric.field)
        value = figures.get(metric.key)
        if limit is None:
            continue
        if metric.key in MAY_BE_UNMEASURED and value is None:
            unmeasured.append(metric)
            continue
        rows.append({"metric": metric, "value": value, "target": limit, **evaluate(metric, value, limit)})
    return goal, aim, rows, unmeasured


def qualification_end(*, distributor, run) -> date:
    """When the qualification period ends: the date the manager set; else the next scheduled run
    (a week or a month after the last scheduled or published run, and not before today); else a
    year after the published run's as-of date: the next yearly review counts the 12 months that
    follow the run's, on the data's calendar (a run as of Dec 30, 2017, published today, is
    reviewed on the 12 months to Dec 30, 2018, not to a year from today)."""
    profile = profile_get(distributor=distributor)
    if profile.qualification_end:
        return profile.qualification_end
    today = timezone.localdate()
    if profile.schedule in (StratificationProfile.Schedule.WEEKLY, StratificationProfile.Schedule.MONTHLY):
        last = (
            run_list(distributor=distributor)
            .filter(publish_requested=True)
            .exclude(status=StratificationRun.Status.FAILED)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        start = timezone.localtime(last).date() if last else today
        if profile.schedule == StratificationProfile.Schedule.WEEKLY:
            due = start + timedelta(days=7)
        else:
            year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
            due = start.replace(year=year, month=month, day=min(start.day, 28))
        return max(due, today)
    return years_after(run.as_of if run and run.as_of else today, 1)


def years_after(day: date, years: int) -> date:
    """The same day `years` later (the 28th for a 29 February landing in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def tier_history(*, distributor, customer, policies, limit: int = 12) -> list[dict]:
    """The customer's tier in each published run it is in, newest first, under today's tier names."""
    scores = (
        CustomerScore.objects.filter(distributor=distributor, customer=customer, run__published_at__isnull=False)
        .select_related("run")
        .order_by("-run__as_of", "-run__published_at")[:limit]
    )
    out = []
    for score in scores:
        policy = policy_for_segment(policies, score.segment)
        out.append({"as_of": score.run.as_of, "tier": policy.tier_name if policy else None})
    return out


def tier_overview(*, distributor) -> dict[str, dict]:
    """Per tier (by segment) in the published run: how many customers are in it (`customers`; the
    lowest tier's include the lapsed ones, `lapsed` of them, who fall under it), how many meet each
    target they are shown (`met` of `of`; `unmeasured`: those without the figure, payments or
    channels not imported, counted in neither), how many meet them all (the targets measured for
    them), and how many are within 10% of every target they miss (the ones to call). Empty without a
    published run. Two queries plus the policies'."""
    run = current_run(distributor)
    policies = policy_list(distributor=distributor)
    if run is None or not policies:
        return {}
    segments = dict(
        CustomerScore.objects.filter(distributor=distributor, run=run).values_list("customer_id", "segment")
    )
    figures = customer_figures(distributor=distributor, as_of=run.as_of)
    out = {
        p.segment: {"customers": 0, "lapsed": 0, "qualify": 0, "near": 0, "targets": {}, "goal": None, "aim": None}
        for p in policies
    }
    for customer_id, segment in segments.items():
        policy = policy_for_segment(policies, segment)
        if policy is None:
            continue
        goal, aim, rows, unmeasured = _goal_and_unmeasured(
            policies=policies, policy=policy, figures=figures.get(customer_id, EMPTY_FIGURES)
        )
        entry = out[policy.segment]
        entry["customers"] += 1
        entry["lapsed"] += segment == LAPSED
        entry["goal"], entry["aim"] = goal, aim
        for row in rows:
            counts = entry["targets"].setdefault(row["metric"].key, _target_counts(row["metric"]))
            counts["of"] += 1
            counts["met"] += row["met"]
        for metric in unmeasured:
            entry["targets"].setdefault(metric.key, _target_counts(metric))["unmeasured"] += 1
        if rows and all(r["met"] for r in rows):
            entry["qualify"] += 1
        elif rows and all(r["met"] or r["near"] for r in rows):
            entry["near"] += 1
    for policy in policies:  # a tier with no customer still says what it aims at
        entry = out[policy.segment]
        if entry["aim"] is None:
            entry["goal"], entry["aim"], _ = goal_targets(policies=policies, policy=policy, figures=EMPTY_FIGURES)
        entry["ranked"] = entry["customers"] - entry["lapsed"]
        order = [m.key for m in METRICS]
        entry["targets"] = sorted(entry["targets"].values(), key=lambda c: order.index(c["metric"].key))
    return out


def _target_counts(metric) -> dict:
    return {"metric": metric, "met": 0, "of": 0, "unmeasured": 0}


def quantile(values: list, q: float) -> Decimal | None:
    """The q-quantile of `values` by linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(Decimal(str(v)) for v in values)
    if not ordered:
        return None
    h = (len(ordered) - 1) * Decimal(str(q))
    lo = int(math.floor(h))
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


SUGGEST_STEP = {"money": Decimal(1), "count": Decimal(1), "days": Decimal(1), "pct": Decimal(1)}
# The least a customer of the run (one who bought in its window) has without trying: an at-least
# target at or below it asks nothing ("Orders at least 1", "web or EDI at least 0%").
ASKS_NOTHING_AT = {"purchases": Decimal(0), "orders": Decimal(1), "categories": Decimal(1)}


def suggest_value(metric, values: list) -> Decimal | None:
    """A target the segment's customers mostly meet: the first quartile for an at-least target (three
    in four meet it), the last quartile for an at-most one; rounded to a whole unit towards meeting
    it (down for at-least, up for at-most)."""
    value = quantile(values, 0.25 if metric.direction == AT_LEAST else 0.75)
    if value is None:
        return None
    rounding = ROUND_FLOOR if metric.direction == AT_LEAST else ROUND_CEILING
    return value.quantize(SUGGEST_STEP[metric.kind], rounding=rounding)


def asks_nothing(metric, value) -> bool:
    """A suggestion not worth setting: an at-least target every buying customer meets (0 of anything,
    1 order or 1 category), or an at-most ceiling of 0 (not a single return, payment on the day:
    one slip fails it, so the quartile says only that most of the tier had none)."""
    if value is None:
        return False
    if metric.direction == AT_LEAST:
        return value <= ASKS_NOTHING_AT.get(metric.key, Decimal(0))
    return value <= 0


def _viewers(policies, tier, metric) -> list[str]:
    """The segments whose customers are shown `tier`'s target on `metric`: the tiers working towards
    it (on the behaviours they lack), and its own customers when it is the top tier (to keep it)."""
    keeps = lambda p: p.pk == tier.pk and not tier.works_towards  # noqa: E731
    climbs = lambda p: p.works_towards == tier.segment and metric in metrics_towards(p.segment, tier.segment)  # noqa: E731
    return [p.segment for p in policies if keeps(p) or climbs(p)]


def _count_meeting(row: dict) -> None:
    metric, suggested, values = row["metric"], row["suggested"], row["seen_values"]
    row["meeting"] = sum(evaluate(metric, v, suggested)["met"] for v in values) if suggested is not None else 0
    row["of"] = len(values)
    row["share"] = round(row["meeting"] * 100 / len(values)) if values and suggested is not None else None


def target_suggestions(*, distributor) -> dict:
    """Each tier's targets proposed from the published run: per metric, from the figures of the
    tier's segment's customers (`customers`: ranked ones; the lapsed customers who fall under the
    lowest tier, `lapsed` there, are left out); a suggestion that asks
    nothing (`asks_nothing`) is left empty. Each row counts who would meet it among the customers
    who are shown that target (`seen_by`: the tiers working towards it, on the targets their
    scorecards show, and the top tier's own customers, who keep it; ranked customers with the figure):
    `meeting` of `of`, `share` %. `{"run": run, "tiers": [...]}`; `run` None before a publication."""
    run = current_run(distributor)
    policies = policy_list(distributor=distributor)
    if run is None:
        return {"run": None, "tiers": []}
    scores = CustomerScore.objects.filter(distributor=distributor, run=run)
    segments = dict(scores.values_list("customer_id", "segment"))
    lapsed = sum(1 for segment in segments.values() if segment == LAPSED)
    segments = {pk: segment for pk, segment in segments.items() if segment != LAPSED}
    figures = customer_figures(distributor=distributor, as_of=run.as_of)
    members = {
        p.segment: [figures.get(pk, EMPTY_FIGURES) for pk, segment in segments.items() if segment == p.segment]
        for p in policies
    }
    names = {p.segment: p.tier_name for p in policies}
    tiers = []
    for policy in policies:
        rows = []
        for metric in METRICS:
            values = [f[metric.key] for f in members[policy.segment] if f.get(metric.key) is not None]
            quartile = suggest_value(metric, values)
            seen_by = _viewers(policies, policy, metric)
            row = {
                "metric": metric,
                "current": getattr(policy, metric.field),
                "suggested": None if asks_nothing(metric, quartile) else quartile,
                "asks_nothing": asks_nothing(metric, quartile),
                "values": values,
                "seen_by": [names[s] for s in seen_by],
                "seen_values": [f[metric.key] for s in seen_by for f in members[s] if f.get(metric.key) is not None],
            }
            _count_meeting(row)
            rows.append(row)
        tiers.append({"policy": policy, "customers": len(members[policy.segment]), "lapsed": 0, "targets": rows})
    if tiers:  # lapsed customers fall under the lowest tier; their figures are left out
        tiers[-1]["lapsed"] = lapsed
    _keep_ladder_order(tiers, policies)
    for tier in tiers:
        for row in tier["targets"]:
            row["proposed"] = proposed(row)
    return {"run": run, "tiers": tiers}


def proposed(row: dict):
    """What saving the suggestions as they stand writes for a target: nothing where the suggestion
    asks nothing; else the suggestion, or without one (no customer has the figure) the current
    target, which stays."""
    if row["asks_nothing"]:
        return None
    return row["suggested"] if row["suggested"] is not None else row["current"]


def _keep_ladder_order(tiers: list[dict], policies) -> None:
    """A suggestion that would ask more of a tier than of the tier its customers work towards (on
    the targets they are shown) is eased to that tier's, so that the suggestions can be saved as
    they stand: to nothing (even where the current target would have stayed) when that tier's is
    empty because it asks nothing; who meets it is counted again."""
    by_segment = {t["policy"].segment: t for t in tiers}
    for _ in range(len(tiers)):  # a ladder is at most as long as the tiers are many
        changed = False
        for low in tiers:
            high = by_segment.get(low["policy"].works_towards)
            if high is None:
                continue
            shown = {m.key for m in metrics_towards(low["policy"].segment, high["policy"].segment)}
            highs = {r["metric"].key: r for r in high["targets"]}
            for row in low["targets"]:
                metric, mine, theirs = row["metric"], proposed(row), proposed(highs[row["metric"].key])
                if metric.key not in shown or mine is None:
                    continue
                if theirs is None:
                    # Empty above (it asks nothing, or has neither a target nor a suggestion): empty here
                    # too, whether suggested or kept, since an empty target above asks less than any here.
                    row["suggested"], row["asks_nothing"], changed = None, True, True
                elif mine > theirs if metric.direction == AT_LEAST else mine < theirs:
                    row["suggested"], changed = theirs, True
                else:
                    continue
                _count_meeting(row)
        if not changed:
            return


def tier_changes(*, distributor, run) -> list[dict]:
    """The customers whose tier changed in `run` (a published run) against the run it replaced,
    with their customer users' e-mail addresses and the notices already sent. Customers new in the
    run (no tier before) are left out."""
    policies = policy_list(distributor=distributor)
    scores = (
        CustomerScore.objects.filter(distributor=distributor, run=run)
        .exclude(previous_segment="")
        .exclude(previous_segment=F("segment"))
        .select_related("customer")
        .order_by("customer__customer_id")
    )
    changes = []
    for score in scores:
        before = policy_for_segment(policies, score.previous_segment)
        after = policy_for_segment(policies, score.segment)
        if before is None or after is None or before.pk == after.pk:
            continue
        changes.append({"customer": score.customer, "from": before, "to": after, "emails": [], "notices": []})
    by_pk = {c["customer"].pk: c for c in changes}
    if by_pk:
        memberships = Membership.objects.filter(
            distributor=distributor, role=Role.CUSTOMER, customer_id__in=list(by_pk)
        ).select_related("user")
        for membership in memberships:
            if membership.user.email and membership.user.is_active:
                by_pk[membership.customer_id]["emails"].append(membership.user.email)
        for notice in TierNotice.objects.filter(distributor=distributor, run=run, customer_id__in=list(by_pk)):
            by_pk[notice.customer_id]["notices"].append(notice)
    return changes


def tier_notices(*, distributor, run):
    return TierNotice.objects.filter(distributor=distributor, run=run).select_related("customer", "sent_by")


def profit_center_list(*, distributor, run, dimension: str, by: str = "") -> QuerySet[ProfitCenter]:
    """A run's profit-center rows of one dimension (`by`: "" for its values, "segment" or a second
    dimension for the matrix cells), by net profit, highest first."""
    return ProfitCenter.objects.filter(distributor=distributor, run=run, dimension=dimension, by=by).order_by(
        "position", "value", "by_value"
    )


def run_profit_input(*, distributor, run, segments: dict[int, str] | None = None):
    """What a run's profit centers are computed from (`segments.profit_centers.read_profit_input`),
    read in one snapshot: for the run's active customers (`segments` None, what the profit-centers
    job computes) or for some of them (`segments`: customer pk -> segment in the run: a slice).
    None when the data changed since the run (an import landed): the figures would not be the run's."""
    from stratify.db import read_snapshot
    from stratify.engine import LAPSED, ModelSettings

    from . import aggregates
    from . import profit_centers as pc

    model_settings = ModelSettings.from_dict(run.settings)
    with read_snapshot():
        seen = aggregates.data_stamp(distributor=distributor)
        if any(run.data_seen.get(key) != value for key, value in seen.items()):
            return None
        some_customers = segments is not None
        if segments is None:
            active = CustomerScore.objects.filter(distributor=distributor, run=run).exclude(segment=LAPSED)
            segments = dict(active.values_list("customer_id", "segment"))
        return pc.read_profit_input(
            some_customers=some_customers,
            distributor=distributor,
            as_of=run.as_of,
            window_days=model_settings.window_days,
            segments=segments,
            settings=model_settings,
        )


def profit_centers_of_customers(*, distributor, run, segments: dict[int, str]):
    """A run's profit centers (every table of `segments.profit_centers.compute`) over some of its
    customers only, exactly as the profit-centers job computes them for all; None when the data
    changed since the run."""
    from stratify.engine import ModelSettings

    from . import profit_centers as pc

    data = run_profit_input(distributor=distributor, run=run, segments=segments)
    return None if data is None else pc.compute(data, ModelSettings.from_dict(run.settings))


def profit_curve(*, distributor, run, dimension: str) -> ProfitCurve | None:
    """A run's whale curve of one dimension (None before its profit centers are computed)."""
    return ProfitCurve.objects.filter(distributor=distributor, run=run, dimension=dimension).first()


# A line-level dimension's value as an InvoiceLine lookup ("rep" is handled apart: line rep, else the
# customer's assigned rep); a customer-level one as a Customer lookup.
_LINE_LOOKUPS = {
    "category": "product__category",
    "brand": "product__brand",
    "supplier": "product__supplier_id",
    "product": "product__product_id",
    "branch": "branch",
    "channel": "channel",
    "ship_method": "ship_method",
    "partner": "partner__partner_id",
}
_CUSTOMER_LOOKUPS = {
    "customer_class": "customer_class",
    "supply_chain_role": "supply_chain_role",
    "industry": "industry",
    "region": "region",
    "customer_branch": "branch",
    "assigned_rep": "rep__rep_id",
}


def _empty_or(lookup: str, value: str):
    from django.db.models import Q

    if value:
        return Q(**{lookup: value})
    return Q(**{lookup: ""}) | Q(**{f"{lookup}__isnull": True})


def profit_value_customers(*, distributor, run, dimension: str, value: str):
    """The pks of the customers with a line of `value` (the empty value: "") of `dimension` in `run`'s
    window: what a profit center drills down to (a subquery). None for an unknown dimension."""
    from datetime import timedelta

    from django.db.models import Q

    from sales.models import Customer, InvoiceLine

    if dimension == "segment":
        return CustomerScore.objects.filter(distributor=distributor, run=run, segment=value).values("customer_id")
    if dimension in _CUSTOMER_LOOKUPS:
        customers = Customer.objects.filter(distributor=distributor).filter(
            _empty_or(_CUSTOMER_LOOKUPS[dimension], value)
        )
        scored = CustomerScore.objects.filter(distributor=distributor, run=run).exclude(segment="lapsed")
        return customers.filter(pk__in=scored.values("customer_id")).values("pk")
    if run is None or run.as_of is None:
        return None
    window_days = int((run.settings or {}).get("window_days", 365))
    lines = InvoiceLine.objects.filter(
        distributor=distributor, invoice_date__lte=run.as_of, invoice_date__gt=run.as_of - timedelta(days=window_days)
    )
    if dimension == "rep":
        line_rep = Q(rep__rep_id=value) if value else Q(rep__isnull=True)
        assigned = Q(rep__isnull=True) & _empty_or("customer__rep__rep_id", value)
        return lines.filter(line_rep & Q(rep__isnull=False) | assigned).values("customer_id")
    if dimension in _LINE_LOOKUPS:
        return lines.filter(_empty_or(_LINE_LOOKUPS[dimension], value)).values("customer_id")
    return None


def run_totals_compared(run, other) -> dict:
    """The money of two runs side by side, from their stored totals (no query): per ranked segment its
    customers and net profit in `other` and in `run`, and for all ranked customers revenue, cost to
    serve and net profit: what a what-if preview would change before it is published."""

    def figures(totals: dict, segment: str) -> dict:
        row = (totals or {}).get(segment) or {}
        return {
            "count": int(row.get("count", 0)),
            **{k: Decimal(str(row.get(k, "0"))) for k in ("revenue", "cost_to_serve", "net_profit")},
        }

    ranked = [s for s in SEGMENT_ORDER if s in (run.totals or {}) and s != LAPSED]
    rows = []
    for segment in ranked:
        before, after = figures(other.totals, segment), figures(run.totals, segment)
        change = after["net_profit"] - before["net_profit"]
        rows.append(
            {"segment": segment, "label": SEGMENT_LABELS[segment], "before": before, "after": after, "change": change}
        )
    whole = {
        side: {k: sum((r[side][k] for r in rows), Decimal(0)) for k in ("revenue", "cost_to_serve", "net_profit")}
        for side in ("before", "after")
    }
    whole["change"] = {k: whole["after"][k] - whole["before"][k] for k in ("revenue", "cost_to_serve", "net_profit")}
    return {"other": other.number, "rows": rows, "total": whole}
