"""Tier policies: what each segment's customers get, under a customer-facing tier name, and the
ladder customers climb.

The rules, with no reads or writes of their own (those are `segments.selectors` and
`segments.services.policies`):
- `DEFAULT_POLICIES`: the four policies a new tenant starts with (created with the tenant);
- `METRICS`: the targets a tier may set, in figures a customer understands, each with a direction
  (at least / at most) and the behaviour it measures (buying or profit);
- `policy_for_segment(policies, segment)`: the policy a customer of `segment` falls under (a
  lapsed customer falls under the lowest tier);
- `next_tier(policies, policy)`: the tier the policy's customers work towards (`works_towards`),
  or None for a tier whose customers keep it (the top);
- `metrics_towards(from_segment, to_segment)`: which targets a customer is shown: what the segment
  worked towards has and theirs lacks (high value: buying behaviours; profitable: profit behaviours);
  all of them to keep the top tier;
- `evaluate(metric, value, target)`: met or not, in the metric's direction, and the gap;
- `clean_policy_value`, `validate_policy` and `ladder_warnings`: what a manager may set.

A policy's targets are what a customer must reach to be offered THAT tier (or, for the top tier, to
keep it); the scorecard shows a customer the targets of the tier they work towards. So the tier
worked towards may not ask less, on the targets its climbers are shown, than the tier they climb from.
"""

from dataclasses import dataclass
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
        "target_avg_order_value": Decimal("450"),
        "target_returns_pct": Decimal("5"),
        "target_self_service_pct": Decimal("50"),
        "works_towards": "",
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
        "target_avg_order_value": Decimal("250"),
        "target_returns_pct": Decimal("10"),
        "target_self_service_pct": Decimal("25"),
        "works_towards": "core",
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
        "target_avg_order_value": Decimal("300"),
        "target_returns_pct": Decimal("8"),
        "target_self_service_pct": Decimal("25"),
        "works_towards": "core",
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
        "target_avg_order_value": None,
        "target_returns_pct": None,
        "target_self_service_pct": None,
        "works_towards": "opportunistic",
        "playbook": "Serve at low cost: web and counter only, minimum order values, "
        "no special orders; re-qualify yearly.",
    },
}

AT_LEAST, AT_MOST = "at_least", "at_most"
BUYING, PROFIT = "buying", "profit"


@dataclass(frozen=True)
class Metric:
    key: str  # the customer's figure (`segments.selectors.customer_figures`)
    field: str  # the policy's target field
    label: str  # in customer words
    direction: str  # AT_LEAST or AT_MOST
    kind: str  # money, count, days or pct (a share of 0-100)
    behaviour: str  # BUYING (what makes a customer high value) or PROFIT (what makes it profitable)


METRICS: tuple[Metric, ...] = (
    Metric("purchases", "target_revenue_12m", "Purchases in the last 12 months", AT_LEAST, "money", BUYING),
    Metric("orders", "target_orders_12m", "Orders in the last 12 months", AT_LEAST, "count", BUYING),
    Metric("categories", "target_categories", "Product categories bought", AT_LEAST, "count", BUYING),
    Metric("average_order", "target_avg_order_value", "Average order value", AT_LEAST, "money", PROFIT),
    Metric("days_to_pay", "target_days_to_pay", "Average days to pay", AT_MOST, "days", PROFIT),
    Metric("returns_pct", "target_returns_pct", "Returns as a share of lines", AT_MOST, "pct", PROFIT),
    Metric("self_service_pct", "target_self_service_pct", "Orders placed on the web or EDI", AT_LEAST, "pct", PROFIT),
)
METRIC_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
TARGET_FIELDS: tuple[str, ...] = tuple(m.field for m in METRICS)
# What each segment has: the two axes of the model. Customers are shown the behaviours of the axis
# they lack (a service-drain customer is high value, not profitable: profit behaviours).
SEGMENT_HAS: dict[str, frozenset[str]] = {
    "core": frozenset({BUYING, PROFIT}),
    "service_drain": frozenset({BUYING}),
    "opportunistic": frozenset({PROFIT}),
    "marginal": frozenset(),
}
# Segments from the most profitable down (the order pages list them in).
PROFIT_ORDER: tuple[str, ...] = ("core", "opportunistic", "service_drain", "marginal")
NEAR_SHARE = Decimal("0.10")  # "within 10% of the next tier's targets"

EDITABLE_FIELDS: tuple[str, ...] = (
    "tier_name",
    "rank",
    "works_towards",
    "description",
    "sales_coverage",
    "free_shipping_threshold",
    "discount_pct",
    "special_orders_allowed",
    "payment_terms_days",
    *TARGET_FIELDS,
    "playbook",
)
FIELD_LABELS: dict[str, str] = {
    "target_revenue_12m": "12-month purchases target",
    "target_orders_12m": "12-month orders target",
    "target_categories": "product categories target",
    "target_days_to_pay": "days-to-pay target",
    "target_avg_order_value": "average order value target",
    "target_returns_pct": "returns share target",
    "target_self_service_pct": "web/EDI share target",
}
NON_NEGATIVE: tuple[str, ...] = ("free_shipping_threshold", "discount_pct", "payment_terms_days", *TARGET_FIELDS)
SHARES: tuple[str, ...] = ("discount_pct", "target_returns_pct", "target_self_service_pct")
PAYMENT_TERMS_DAYS_MAX = 3650  # ten years: more is a typo (and would overflow the database's integer)


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
    """The tier `policy`'s customers work towards (its `works_towards`); None when they keep their
    tier (the top). A lapsed customer falls under the lowest tier and climbs its ladder (`segment`
    is kept for callers)."""
    if policy is None or not policy.works_towards:
        return None
    return next((p for p in policies if p.segment == policy.works_towards), None)


def metrics_towards(from_segment: str | None, to_segment: str | None) -> tuple[Metric, ...]:
    """The targets a customer of `from_segment` working towards `to_segment` is shown: the behaviours
    `to_segment` has and `from_segment` lacks; every target to keep a tier (`to_segment` None) or
    when the ladder asks for nothing new."""
    if to_segment is None:
        return METRICS
    lacking = SEGMENT_HAS.get(to_segment, frozenset()) - SEGMENT_HAS.get(from_segment or "", frozenset())
    return tuple(m for m in METRICS if m.behaviour in lacking) or METRICS


def evaluate(metric: Metric, value, target) -> dict:
    """`value` against `target` in the metric's direction: met (the boundary counts as met), the gap
    (what is missing: 0 when met, None without a figure) and `near` (within 10% of the target)."""
    if value is None or target is None:
        return {"met": False, "gap": None, "near": False}
    value, target = Decimal(str(value)), Decimal(str(target))
    if metric.direction == AT_LEAST:
        met = value >= target
        gap = max(Decimal(0), target - value)
        near = value >= target * (1 - NEAR_SHARE)
    else:
        met = value <= target
        gap = max(Decimal(0), value - target)
        near = value <= target * (1 + NEAR_SHARE)
    return {"met": met, "gap": gap, "near": near}


def _payment_terms_message() -> str:
    return f"Payment terms must be between 0 and {PAYMENT_TERMS_DAYS_MAX:,} days."


def clean_policy_value(field: str, value):
    """Coerce a raw value (form or JSON) to the field's Python type; raise ValidationError naming the field."""
    if field == "works_towards" and value == LAPSED:
        raise ValidationError({field: ["Lapsed customers have no tier of their own: choose one of the four tiers."]})
    model_field = TierPolicy._meta.get_field(field)
    if value == "" and model_field.null:
        value = None
    try:
        if value is None:
            return None
        # Before the model's clean: a database's own integer bound (PostgreSQL's 2,147,483,647) would
        # otherwise answer first, in other words.
        if field == "payment_terms_days" and (model_field.to_python(value) or 0) > PAYMENT_TERMS_DAYS_MAX:
            raise ValidationError(_payment_terms_message())
        return model_field.clean(value, None)
    except ValidationError as error:
        raise ValidationError({field: error.messages})


def _name(policies: list[TierPolicy], segment: str) -> str:
    return next((p.tier_name for p in policies if p.segment == segment), segment)


def ladder_errors(policy: TierPolicy, policies: list[TierPolicy]) -> list[str]:
    """What is wrong with `policy.works_towards` among `policies` (with `policy`'s new values)."""
    target = policy.works_towards
    if not target:
        return []
    if target == LAPSED:
        return ["Lapsed customers have no tier of their own: choose one of the four tiers."]
    if target == policy.segment:
        return ["A tier cannot work towards itself: leave it empty for the top tier, whose customers keep it."]
    by_segment = {p.segment: p for p in policies if p.pk != policy.pk}
    by_segment[policy.segment] = policy
    if target not in by_segment:
        return [f"No tier for {target}."]
    path, seen, step = [policy.segment], {policy.segment}, target
    while step:
        path.append(step)
        if step in seen:
            names = " → ".join(_name(policies, s) if s != policy.segment else policy.tier_name for s in path)
            return [f"This makes the ladder go round in a circle ({names}): one tier must be the top."]
        seen.add(step)
        step = by_segment[step].works_towards if step in by_segment else ""
    return []


def ladder_warnings(policies: list[TierPolicy]) -> dict[str, str]:
    """Per segment, a warning when its customers work towards a less profitable segment's tier
    (allowed, but then meeting the targets rewards the customers who cost the most)."""
    out = {}
    for p in policies:
        t = p.works_towards
        if t in PROFIT_ORDER and p.segment in PROFIT_ORDER and PROFIT_ORDER.index(t) > PROFIT_ORDER.index(p.segment):
            out[p.segment] = (
                f"{p.tier_name} customers work towards {_name(policies, t)}, a tier of less profitable "
                "customers: meeting its targets would reward customers for costing more."
            )
    return out


def _order_errors(policy: TierPolicy, policies: list[TierPolicy], changed=None) -> dict[str, list[str]]:
    """Along the ladder: the tier worked towards asks at least as much, on the targets its climbers
    are shown, as the tier they climb from. An empty target asks nothing: the tier worked towards may
    leave a target empty only when the tier below does too. Values are worded as the scorecard words
    them (money in the tenant's currency).

    `changed`: the fields being changed (None: all). The empty-target rule is newer than tenants'
    saved ladders: it is held only on a target (or a ladder) being changed, so an unrelated edit of a
    tier whose neighbour left a target empty still saves."""
    ladder_changed = changed is None or "works_towards" in changed
    errors: dict[str, list[str]] = {}
    others = [p for p in policies if p.pk != policy.pk]
    above = next((p for p in others if p.segment == policy.works_towards), None)
    below = [p for p in others if p.works_towards == policy.segment]
    pairs = [(policy, above, "higher")] if above is not None else []
    pairs += [(p, policy, "lower") for p in below]
    from .tier_text import format_figure  # it words the metrics defined here

    for low, high, other_word in pairs:
        other = high if other_word == "higher" else low
        for metric in metrics_towards(low.segment, high.segment):
            low_v, high_v = getattr(low, metric.field), getattr(high, metric.field)
            label = FIELD_LABELS[metric.field]
            if low_v is None:
                continue  # the lower tier asks nothing: any target above asks at least as much
            bound = "at least" if metric.direction == AT_LEAST else "at most"
            shown = (
                f"{other.tier_name}: {bound} {format_figure(metric, getattr(other, metric.field), policy.distributor)}"
            )
            if high_v is None:
                if not (ladder_changed or metric.field in changed):
                    continue
                # An empty target asks nothing: the higher tier would ask less than the one below it.
                if other_word == "lower":
                    message = (
                        f"The {label} may not be empty while the lower tier sets one ({shown}): "
                        "an empty target asks nothing, less than the tier below it."
                    )
                else:
                    message = (
                        f"The {label} may not be set while the higher tier's is empty ({other.tier_name}: "
                        "no target): an empty target asks nothing, so the higher tier would ask less."
                    )
                errors.setdefault(metric.field, []).append(message)
                continue
            if not (high_v < low_v if metric.direction == AT_LEAST else high_v > low_v):
                continue
            # Higher than the tier above (or lower than the one below) for "at least"; the reverse for "at most".
            word = "above" if (other_word == "higher") == (metric.direction == AT_LEAST) else "below"
            errors.setdefault(metric.field, []).append(
                f"The {label} may not be {word} the {other_word} tier's ({shown})."
            )
    return errors


def validate_policy(policy: TierPolicy, policies: list[TierPolicy], changed=None) -> None:
    """Raise ValidationError({field: [...]}) for values out of range (payment terms: 0 to 3,650 days;
    the tier order from 1, the top),
    a tier name another tier of the tenant has (whatever the case), a ladder that goes round in a
    circle or towards lapsed customers, and targets out of order along the ladder (`changed`: the fields
    being changed, see `_order_errors`)."""
    errors: dict[str, list[str]] = {}
    for field in NON_NEGATIVE:
        value = getattr(policy, field)
        if value is not None and value < 0:
            errors.setdefault(field, []).append("Must not be negative.")
    for field in SHARES:
        value = getattr(policy, field)
        if value is not None and value > 100:
            errors.setdefault(field, []).append("Must be between 0 and 100.")
    if policy.payment_terms_days is not None and policy.payment_terms_days > PAYMENT_TERMS_DAYS_MAX:
        errors.setdefault("payment_terms_days", []).append(_payment_terms_message())
    name = (policy.tier_name or "").strip()
    if not name:
        errors.setdefault("tier_name", []).append("Give the tier a name customers will see.")
    else:
        taken = next(
            (p for p in policies if p.pk != policy.pk and (p.tier_name or "").strip().casefold() == name.casefold()),
            None,
        )
        if taken is not None:
            errors.setdefault("tier_name", []).append(
                f"Another tier is already named {taken.tier_name}: give each tier its own name."
            )
    if policy.rank is not None and policy.rank < 1:
        errors.setdefault("rank", []).append("The tier order starts at 1, the top tier: use 1 or more.")
    elif any(p.rank == policy.rank for p in policies if p.pk != policy.pk):
        errors.setdefault("rank", []).append("Another tier already has this rank.")
    ladder = ladder_errors(policy, policies)
    if ladder:
        errors["works_towards"] = ladder
    else:
        for field, messages in _order_errors(policy, policies, changed).items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
