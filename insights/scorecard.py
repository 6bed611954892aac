"""The customer's scorecard: what a customer may see of their own account (their tier, its
benefits, their figures over the last 12 months against the targets of the tier above, and their
monthly purchases). Nothing internal: never a segment, score, cost-to-serve or another customer."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Avg, Count, Q, Sum

from sales.models import InvoiceLine
from segments.policies import next_tier, policy_for_segment
from segments.selectors import policy_list, published_runs, score_for
from stratify.formatting import format_money

from .customers import monthly_trend


def twelve_month_figures(*, distributor, customer, as_of: date | None) -> dict:
    """What a customer sees on the scorecard, over the 365 days up to `as_of`: purchases (net of
    returns), orders (distinct invoices among non-return lines), product categories bought and
    average days to pay. One aggregate query on the (tenant, customer, date) index."""
    as_of = as_of or date.today()
    lines = InvoiceLine.objects.filter(
        distributor=distributor,
        customer=customer,
        invoice_date__gt=as_of - timedelta(days=365),
        invoice_date__lte=as_of,
    )
    not_return = Q(quantity__gte=0, revenue__gte=0)
    agg = lines.aggregate(
        purchases=Sum("revenue"),
        orders=Count("invoice_id", filter=not_return, distinct=True),
        categories=Count("product__category", filter=not_return & ~Q(product__category=""), distinct=True),
        days_to_pay=Avg("days_to_pay"),
    )
    return {
        "purchases": float(agg["purchases"] or 0),
        "orders": int(agg["orders"] or 0),
        "categories": int(agg["categories"] or 0),
        "days_to_pay": round(float(agg["days_to_pay"]), 1) if agg["days_to_pay"] is not None else None,
    }


def progress_rows(figures: dict, target_policy) -> list[dict]:
    """The scorecard's progress bars: each of the next tier's targets against the customer's figure.
    Days to pay is better when lower, so its progress is target / actual."""
    if target_policy is None:
        return []
    spec = [
        ("purchases", "Purchases in the last 12 months", target_policy.target_revenue_12m, True, True),
        ("orders", "Orders in the last 12 months", target_policy.target_orders_12m, True, False),
        ("categories", "Product categories bought", target_policy.target_categories, True, False),
        ("days_to_pay", "Average days to pay", target_policy.target_days_to_pay, False, False),
    ]
    rows = []
    for key, label, target, more_is_better, money in spec:
        if target is None:
            continue
        actual = figures.get(key)
        target = float(target)
        if more_is_better:
            pct = 100.0 if target <= 0 else min(100.0, (actual or 0) / target * 100)
            met = (actual or 0) >= target
        else:
            if actual is None:
                pct, met = 0.0, False
            else:
                pct = 100.0 if actual <= target else max(0.0, min(100.0, target / actual * 100))
                met = actual <= target
        rows.append(
            {
                "key": key,
                "label": label,
                "actual": actual,
                "target": target,
                "pct": round(pct),
                "met": met,
                "money": money,
                "lower_is_better": not more_is_better,
            }
        )
    return rows


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
        threshold = float(policy.free_shipping_threshold)
        out.append(
            {
                "label": "Free shipping",
                "value": "On every order"
                if threshold == 0
                else f"On orders over {format_money(policy.free_shipping_threshold, distributor)}",
            }
        )
    if policy.discount_pct:
        out.append({"label": "Discount", "value": f"{float(policy.discount_pct):g}% off list prices"})
    out.append({"label": "Special orders", "value": "Available" if policy.special_orders_allowed else "Not included"})
    out.append({"label": "Payment terms", "value": f"{policy.payment_terms_days} days"})
    return out


def scorecard_data(*, distributor, customer) -> dict:
    """What a customer may see about their own account, JSON-safe. Nothing internal: the tier is
    named by its customer-facing name; no segment, score, rank, cost-to-serve or margin, and no
    other customer. `available` is False when the tenant has no published run or the customer is
    not in it. A fixed number of queries."""
    run, _previous = published_runs(distributor=distributor)
    score = score_for(distributor=distributor, run=run, customer=customer)
    base = {
        "available": False,
        "customer": {"account": customer.customer_id, "name": customer.name or customer.customer_id},
        "currency": distributor.currency,
    }
    if score is None:
        return base
    policies = policy_list(distributor=distributor)
    policy = policy_for_segment(policies, score.segment)
    target = next_tier(policies, policy, segment=score.segment)
    figures = twelve_month_figures(distributor=distributor, customer=customer, as_of=run.as_of)
    # The top tier keeps its own targets as the bar to stay in it.
    at_top = target is None and score.segment != "lapsed"
    goal = target if target is not None else policy
    trend = monthly_trend(distributor=distributor, customer=customer, as_of=run.as_of, months=24)
    return {
        **base,
        "available": True,
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "tier": {
            "name": policy.tier_name,
            "description": policy.description,
            "benefits": tier_benefits(policy, distributor),
        }
        if policy
        else None,
        "at_top_tier": at_top,
        "next_tier": {"name": target.tier_name, "benefits": tier_benefits(target, distributor)} if target else None,
        "figures": figures,
        "progress": progress_rows(figures, goal),
        "trend": [{"month": m["month"], "purchases": m["revenue"]} for m in trend],
    }
