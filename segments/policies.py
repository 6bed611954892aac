"""Tier policies: what each segment's customers get, under a customer-facing tier name.

The rules, with no reads or writes of their own (those are `segments.selectors.policy_list` and
`segments.services.policies`):
- `DEFAULT_POLICIES`: the four policies a new tenant starts with (created with the tenant);
- `policy_for_segment(policies, segment)`: the policy a customer of `segment` falls under (a
  lapsed customer falls under the lowest tier);
- `next_tier(policies, policy)`: the tier above, or None at the top;
- `clean_policy_value` and `validate_policy`: what a manager may set.

A policy's targets are what a customer must reach to be offered THAT tier; the scorecard shows a
customer the targets of the tier above theirs. So a higher tier's purchase, order and category
targets may not be below the lower tier's, and its days-to-pay target may not be above the lower
tier's (paying faster is better).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError

from .models import TierPolicy

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


def clean_policy_value(field: str, value):
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
