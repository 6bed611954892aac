"""Read access to stratification profiles, runs and scores. Every selector takes the distributor
explicitly; customer-level reads go through `sales.selectors` rules (reps: assigned customers only)."""

from __future__ import annotations

from django.db.models import QuerySet

from sales.selectors import customer_list
from stratify.engine import ModelSettings
from stratify.published import RunWindow, register_window_provider

from .aggregates import latest_invoice_date  # also the model page's default as-of date
from .models import (
    CustomerScore,
    ProfitCenter,
    SettingsChange,
    StratificationProfile,
    StratificationRun,
    TierPolicy,
    TierPolicyChange,
)


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


@register_window_provider
def published_window(*, distributor) -> RunWindow | None:
    """The published run's as-of date and window; before one is published, the window a run with the
    current settings would use (ending the latest invoice date). None without invoice lines."""
    run = current_run(distributor)
    if run is not None and run.as_of is not None:
        window = int((run.settings or {}).get("window_days") or ModelSettings().window_days)
        return RunWindow(as_of=run.as_of, window_days=window, run_id=run.pk)
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


def profit_center_list(*, distributor, run, dimension: str, by: str = "") -> QuerySet[ProfitCenter]:
    """A run's profit-center rows of one dimension (`by`: "" for its values, "segment" or a second
    dimension for the matrix cells), by net profit, highest first."""
    return ProfitCenter.objects.filter(distributor=distributor, run=run, dimension=dimension, by=by).order_by(
        "position", "value", "by_value"
    )


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
