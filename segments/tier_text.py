"""Tiers in customer words: benefits, what the next tier adds, each target's gap, and the e-mail
telling a customer their new tier. Amounts in the tenant's currency, dates in its one format, and
nothing internal: never a segment name, a score, a rank, a cost to serve or another customer (the
scorecard and the e-mail tests check it)."""

from __future__ import annotations

import math
from decimal import Decimal

from stratify.formatting import format_date, format_money, format_number, format_percent

from .policies import AT_LEAST, Metric

COVERAGE_TEXT = {
    "dedicated_rep": "A dedicated sales representative",
    "inside_sales": "Our inside sales team",
    "web_and_counter": "Web and counter ordering",
}


def tier_benefits(policy, distributor=None) -> list[dict]:
    """A tier's benefits in customer words (no internal field: never the playbook or the segment),
    amounts in the tenant's currency."""
    if policy is None:
        return []
    out = [{"label": "Sales coverage", "value": COVERAGE_TEXT.get(policy.sales_coverage, policy.sales_coverage)}]
    if policy.free_shipping_threshold is not None:
        out.append({"label": "Free shipping", "value": _shipping(policy, distributor)})
    if policy.discount_pct:
        out.append({"label": "Discount", "value": f"{float(policy.discount_pct):g}% off list prices"})
    out.append({"label": "Special orders", "value": "Available" if policy.special_orders_allowed else "Not included"})
    out.append({"label": "Payment terms", "value": f"{policy.payment_terms_days} days"})
    return out


def _shipping(policy, distributor) -> str:
    threshold = policy.free_shipping_threshold
    if threshold is None:
        return "Not included"
    return "On every order" if threshold == 0 else f"On orders over {format_money(threshold, distributor)}"


def tier_adds(current, target, distributor=None) -> list[str]:
    """What `target` offers over `current`, in customer words (empty when nothing is better)."""
    if current is None or target is None:
        return []
    adds = []
    if target.sales_coverage != current.sales_coverage:
        now = COVERAGE_TEXT.get(current.sales_coverage, current.sales_coverage).lower()
        adds.append(f"{COVERAGE_TEXT.get(target.sales_coverage, target.sales_coverage)} (now: {now})")
    mine, theirs = current.free_shipping_threshold, target.free_shipping_threshold
    if theirs is not None and (mine is None or theirs < mine):
        adds.append(
            f"Free shipping {_shipping(target, distributor).lower()} (now: {_shipping(current, distributor).lower()})"
        )
    if (target.discount_pct or 0) > (current.discount_pct or 0):
        adds.append(f"{float(target.discount_pct):g}% off list prices (now: {float(current.discount_pct or 0):g}%)")
    if target.special_orders_allowed and not current.special_orders_allowed:
        adds.append("Special orders")
    if target.payment_terms_days > current.payment_terms_days:
        adds.append(f"{target.payment_terms_days}-day payment terms (now: {current.payment_terms_days} days)")
    return adds


def format_figure(metric: Metric, value, distributor) -> str:
    """A figure or target of `metric` as people read it: money, a count, days, a percentage."""
    if value is None:
        return "—"
    if metric.kind == "money":
        return format_money(value, distributor)
    if metric.kind == "count":
        return format_number(value, distributor)
    decimals = 0 if Decimal(str(value)) == Decimal(str(value)).to_integral_value() else 1
    if metric.kind == "pct":
        return format_percent(Decimal(str(value)) / 100, distributor, decimals=decimals)
    return format_number(value, distributor, decimals=decimals)


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def target_text(row: dict, distributor, period_end) -> str:
    """The gap of one target in words. Purchases, orders and categories are 12-month figures, and the
    next review counts the 12 months to `period_end`, not the last 12 months plus what is bought from
    now on: the text says what that window needs and how far the last 12 months were from it ("Over
    the 12 months to Mar 31, 2027 you need $50,000 of purchases: $42,000 more than in your last 12
    months"). Averages and shares say where the customer stands ("Bring your average order to at
    least $450: you average $320", "Pay within 30 days: you average 34.8 days"); "Met: ..." when met."""
    metric: Metric = row["metric"]
    value, target = row["value"], row["target"]
    shown_value, shown_target = format_figure(metric, value, distributor), format_figure(metric, target, distributor)
    by = format_date(period_end, distributor) if period_end else None
    window = f"Over the 12 months to {by}" if by else "Over the 12 months of our next review"
    bound = "at least" if metric.direction == AT_LEAST else "at most"
    if row["met"]:
        unit = " days" if metric.kind == "days" else ""
        return f"Met: {shown_value}{unit} ({bound} {shown_target}{unit})"
    if value is None:
        return {
            "average_order": f"Bring your average order to at least {shown_target}: no orders in the last 12 months",
            "returns_pct": f"Keep returns to at most {shown_target} of lines: no purchases in the last 12 months",
        }.get(metric.key, f"{metric.label}: {bound} {shown_target}")
    gap = row["gap"]
    last = "than in your last 12 months"
    if metric.key == "purchases":
        return f"{window} you need {shown_target} of purchases: {format_money(gap, distributor)} more {last}"
    if metric.key == "orders":
        n, goal = math.ceil(gap), math.ceil(Decimal(str(target)))
        return (
            f"{window} you need {format_number(goal, distributor)} {_plural(goal, 'order', 'orders')}: "
            f"{format_number(n, distributor)} more {last}"
        )
    if metric.key == "categories":
        n, goal = math.ceil(gap), math.ceil(Decimal(str(target)))
        return (
            f"{window} you need to buy from {format_number(goal, distributor)} product "
            f"{_plural(goal, 'category', 'categories')}: {format_number(n, distributor)} more {last}"
        )
    if metric.key == "average_order":
        return f"Bring your average order to at least {shown_target}: you average {shown_value}"
    if metric.key == "days_to_pay":
        return f"Pay within {shown_target} days: you average {shown_value} days"
    if metric.key == "returns_pct":
        return f"Keep returns to at most {shown_target} of lines: yours are {shown_value}"
    if metric.key == "self_service_pct":
        return f"Place at least {shown_target} of your orders on the web or EDI: you are at {shown_value}"
    return f"{metric.label}: {bound} {shown_target}, you are at {shown_value}"


def notice_message(*, distributor, customer, before, after, link: str, as_of) -> tuple[str, str]:
    """The e-mail telling a customer their new tier: (subject, body)."""
    name = customer.name or customer.customer_id
    subject = f"Your {distributor.name} tier is now {after.tier_name}"
    moved = f"from {before.tier_name} " if before is not None else ""
    lines = [
        f"Hello {name},",
        "",
        f"Following our review of the 12 months to {format_date(as_of, distributor)}, your account "
        f"{customer.customer_id} has moved {moved}to our {after.tier_name} tier.",
    ]
    if after.description:
        lines += ["", after.description]
    lines += ["", f"With {after.tier_name}:"]
    lines += [f"- {b['label']}: {b['value']}" for b in tier_benefits(after, distributor)]
    lines += [
        "",
        "Your scorecard shows your figures, what your tier asks for and what it takes to "
        + ("keep it:" if not after.works_towards else "move up:"),
        link,
        "",
        f"{distributor.name}",
    ]
    return subject, "\n".join(lines) + "\n"
