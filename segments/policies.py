"""Tier policies: what each segment's customers get, under a customer-facing tier name.

Services only (views and the API stay thin):
- `policy_list(*, distributor)` creates the four default policies on first access, then returns them
  ordered by tier rank (1 = the top tier).
- `policy_for_segment(*, distributor, segment)`: the policy a customer of `segment` falls under (a
  lapsed customer falls under the lowest tier).
- `next_tier(policies, policy)`: the tier above, or None at the top.
- `policy_update(*, policy, actor, data)`: validates and saves, recording a `TierPolicyChange`
  (field -> [before, after]) in the same transaction.

A policy's targets are what a customer must reach to be offered THAT tier; the scorecard shows a
customer the targets of the tier above theirs. So a higher tier's purchase, order and category
targets may not be below the lower tier's, and its days-to-pay target may not be above the lower
tier's (paying faster is better).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import RANKED_SEGMENTS, TierPolicy, TierPolicyChange

LAPSED = "lapsed"

# Customers never see segment labels: each segment is offered under a neutral tier name.
DEFAULT_POLICIES: dict[str, dict] = {
    "core": {
        "tier_name": "Platinum",
        "rank": 1,
        "description": "Our closest partners: a dedicated rep and our best terms.",
        "sales_coverage": TierPolicy.Coverage.DEDICATED_REP,
        "free_shipping_threshold": Decimal("0"),
        "discount_pct": Decimal("5"),
        "special_orders_allowed": True,
        "payment_terms_days": 45,
        "target_revenue_12m": Decimal("50000"),
        "target_orders_12m": 24,
        "target_categories": 5,
        "target_days_to_pay": 30,
        "playbook": "Protect and grow: quarterly business reviews, first call on new lines, "
        "fix service issues the same day. Never let a competitor in.",
    },
    "service_drain": {
        "tier_name": "Gold",
        "rank": 2,
        "description": "Valued high-volume accounts with priority service.",
        "sales_coverage": TierPolicy.Coverage.INSIDE_SALES,
        "free_shipping_threshold": Decimal("500"),
        "discount_pct": Decimal("2"),
        "special_orders_allowed": True,
        "payment_terms_days": 30,
        "target_revenue_12m": Decimal("25000"),
        "target_orders_12m": 12,
        "target_categories": 4,
        "target_days_to_pay": 40,
        "playbook": "Fix the cost to serve: consolidate small orders, move routine orders to the web, "
        "charge for special orders and rush deliveries, review pricing on low-margin lines.",
    },
    "opportunistic": {
        "tier_name": "Silver",
        "rank": 3,
        "description": "Growing accounts with self-service ordering and support.",
        "sales_coverage": TierPolicy.Coverage.INSIDE_SALES,
        "free_shipping_threshold": Decimal("750"),
        "discount_pct": Decimal("1"),
        "special_orders_allowed": False,
        "payment_terms_days": 30,
        "target_revenue_12m": Decimal("10000"),
        "target_orders_12m": 6,
        "target_categories": 3,
        "target_days_to_pay": 45,
        "playbook": "Grow share of wallet: cross-sell the categories core customers buy, "
        "propose a stocking agreement, keep service lean.",
    },
    "marginal": {
        "tier_name": "Bronze",
        "rank": 4,
        "description": "Web and counter ordering at list terms.",
        "sales_coverage": TierPolicy.Coverage.WEB_AND_COUNTER,
        "free_shipping_threshold": Decimal("1000"),
        "discount_pct": Decimal("0"),
        "special_orders_allowed": False,
        "payment_terms_days": 30,
        "target_revenue_12m": None,
        "target_orders_12m": None,
        "target_categories": None,
        "target_days_to_pay": None,
        "playbook": "Serve at low cost: web and counter only, minimum order values, "
        "no special orders; re-qualify yearly.",
    },
}

EDITABLE_FIELDS: tuple[str, ...] = (
    "tier_name",
    "rank",
    "description",
    "sales_coverage",
    "free_shipping_threshold",
    "discount_pct",
    "special_orders_allowed",
    "payment_terms_days",
    "target_revenue_12m",
    "target_orders_12m",
    "target_categories",
    "target_days_to_pay",
    "playbook",
)
# Targets where more is better (a higher tier asks at least as much) and where less is better.
TARGETS_HIGHER: tuple[str, ...] = ("target_revenue_12m", "target_orders_12m", "target_categories")
TARGETS_LOWER: tuple[str, ...] = ("target_days_to_pay",)
FIELD_LABELS: dict[str, str] = {
    "target_revenue_12m": "12-month purchases target",
    "target_orders_12m": "12-month orders target",
    "target_categories": "product categories target",
    "target_days_to_pay": "days-to-pay target",
}
NON_NEGATIVE: tuple[str, ...] = (
    "free_shipping_threshold",
    "discount_pct",
    "payment_terms_days",
    *TARGETS_HIGHER,
    *TARGETS_LOWER,
)


def policy_list(*, distributor) -> list[TierPolicy]:
    """The tenant's four policies, top tier first; the defaults are created on first access."""
    policies = list(TierPolicy.objects.filter(distributor=distributor).order_by("rank", "segment"))
    missing = set(RANKED_SEGMENTS) - {p.segment for p in policies}
    if missing:
        TierPolicy.objects.bulk_create(
            [
                TierPolicy(distributor=distributor, segment=s, **DEFAULT_POLICIES[s])
                for s in RANKED_SEGMENTS
                if s in missing
            ],
            ignore_conflicts=True,  # two first visits at once: the other one's rows win
        )
        policies = list(TierPolicy.objects.filter(distributor=distributor).order_by("rank", "segment"))
    return policies


def policy_get(*, distributor, segment: str) -> TierPolicy:
    for policy in policy_list(distributor=distributor):
        if policy.segment == segment:
            return policy
    raise TierPolicy.DoesNotExist(segment)


def policy_for_segment(policies: list[TierPolicy], segment: str | None) -> TierPolicy | None:
    """The policy of `segment` among `policies` (ordered top first); lapsed -> the lowest tier."""
    if not policies or not segment:
        return None
    if segment == LAPSED:
        return policies[-1]
    return next((p for p in policies if p.segment == segment), None)


def next_tier(
    policies: list[TierPolicy], policy: TierPolicy | None, *, segment: str | None = None
) -> TierPolicy | None:
    """The tier above `policy` in `policies` (ordered top first); None at the top. (A lapsed
    customer sits in the lowest tier, so `segment` changes nothing today; it is kept for callers.)"""
    if policy is None:
        return None
    index = next(i for i, p in enumerate(policies) if p.pk == policy.pk)
    return policies[index - 1] if index > 0 else None


def _clean_value(field: str, value):
    """Coerce a raw value (form or JSON) to the field's Python type; raise ValidationError naming the field."""
    model_field = TierPolicy._meta.get_field(field)
    if value == "" and model_field.null:
        value = None
    try:
        return model_field.clean(value, None) if value is not None else None
    except ValidationError as error:
        raise ValidationError({field: error.messages})


def validate_policy(policy: TierPolicy, policies: list[TierPolicy]) -> None:
    """Raise ValidationError({field: [...]}) for values out of range or out of order with the
    neighbouring tiers (ordered by rank)."""
    errors: dict[str, list[str]] = {}
    for field in NON_NEGATIVE:
        value = getattr(policy, field)
        if value is not None and value < 0:
            errors.setdefault(field, []).append("Must not be negative.")
    if policy.discount_pct is not None and policy.discount_pct > 100:
        errors.setdefault("discount_pct", []).append("Must be between 0 and 100.")
    if not (policy.tier_name or "").strip():
        errors.setdefault("tier_name", []).append("Give the tier a name customers will see.")
    others = sorted((p for p in policies if p.pk != policy.pk), key=lambda p: p.rank)
    if any(p.rank == policy.rank for p in others):
        errors.setdefault("rank", []).append("Another tier already has this rank.")
    lower = [p for p in others if p.rank > policy.rank]  # rank 1 is the top tier
    higher = [p for p in others if p.rank < policy.rank]
    below, above = (lower[0] if lower else None), (higher[-1] if higher else None)
    for field in TARGETS_HIGHER + TARGETS_LOWER:
        mine = getattr(policy, field)
        if mine is None:
            continue
        label = FIELD_LABELS[field]
        more_is_better = field in TARGETS_HIGHER
        if below is not None and getattr(below, field) is not None:
            theirs = getattr(below, field)
            if (mine < theirs) if more_is_better else (mine > theirs):
                word = "below" if more_is_better else "above"
                errors.setdefault(field, []).append(
                    f"The {label} may not be {word} the lower tier's ({below.tier_name}: {theirs})."
                )
        if above is not None and getattr(above, field) is not None:
            theirs = getattr(above, field)
            if (mine > theirs) if more_is_better else (mine < theirs):
                word = "above" if more_is_better else "below"
                errors.setdefault(field, []).append(
                    f"The {label} may not be {word} the higher tier's ({above.tier_name}: {theirs})."
                )
    if errors:
        raise ValidationError(errors)


def _json_safe(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def policy_update(*, policy: TierPolicy, actor, data: dict) -> TierPolicy:
    """Apply `data` (a subset of EDITABLE_FIELDS) to `policy`; validate; save and audit the change.
    Raises ValidationError naming the fields at fault; nothing is saved then."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Not an editable field."] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for field, raw in data.items():
        try:
            cleaned[field] = _clean_value(field, raw)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    # Lock the tenant's policies: two managers editing neighbouring tiers must not both pass validation.
    policies = list(TierPolicy.objects.select_for_update().filter(distributor=policy.distributor).order_by("rank"))
    current = next(p for p in policies if p.pk == policy.pk)
    changes = {}
    for field, value in cleaned.items():
        before = getattr(current, field)
        if value is None and not TierPolicy._meta.get_field(field).null:
            value = TierPolicy._meta.get_field(field).get_default()
        if before != value:
            changes[field] = [_json_safe(before), _json_safe(value)]
            setattr(current, field, value)
    validate_policy(current, policies)
    if changes:
        current.updated_by = actor
        current.save()
        TierPolicyChange.objects.create(
            distributor=current.distributor, policy=current, changed_by=actor, changes=changes
        )
    return current


def policy_changes(*, distributor, limit: int = 50):
    return (
        TierPolicyChange.objects.filter(distributor=distributor)
        .select_related("policy", "changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )
