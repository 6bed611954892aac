"""The customer's scorecard: what a customer may see of their own account (their tier, its
benefits, their figures over the last 12 months against the targets of the tier they work towards,
or of their own tier at the top, the gap in words and money, what the next tier adds, their tier
history and their monthly purchases). Nothing internal: never a segment, score, cost-to-serve or
another customer."""

from __future__ import annotations

from decimal import Decimal

from segments.policies import AT_LEAST, policy_for_segment
from segments.selectors import (
    figures_for,
    goal_targets,
    policy_list,
    published_runs,
    qualification_end,
    score_for,
    tier_history,
)
from segments.tier_text import COVERAGE_TEXT, format_figure, target_text, tier_adds, tier_benefits
from stratify.engine import ModelSettings

from .customers import monthly_trend

__all__ = ["COVERAGE_TEXT", "scorecard_data", "target_rows", "tier_benefits"]


def target_rows(rows: list[dict], distributor, period_end) -> list[dict]:
    """The goal's targets as the scorecard shows them: met or not in the target's direction, the gap
    in words, and a progress share for at-least targets only (an at-most target is met or not: one
    above its limit is never drawn as nearly met)."""
    out = []
    for row in rows:
        metric = row["metric"]
        value, target = row["value"], row["target"]
        pct = None
        if metric.direction == AT_LEAST:
            if target <= 0:
                pct = 100
            else:
                pct = round(min(Decimal(100), Decimal(str(value or 0)) / Decimal(str(target)) * 100))
        out.append(
            {
                "metric": metric.key,
                "label": metric.label,
                "kind": metric.kind,
                "value": value,
                "target": target,
                "direction": metric.direction,
                "met": row["met"],
                "gap": row["gap"],
                "pct": pct,
                "text": target_text(row, distributor, period_end),
                "value_text": format_figure(metric, value, distributor),
                "target_text": format_figure(metric, target, distributor),
            }
        )
    return out


def scorecard_data(*, distributor, customer) -> dict:
    """What a customer may see about their own account. Nothing internal: the tier is named by its
    customer-facing name; no segment, score, rank, cost-to-serve or margin, and no other customer.
    `available` is False when the tenant has no published run (`reason` "no_run"), the customer bought
    nothing in the run's windows ("no_recent_purchases": not in the run) or its segment has
    no tier ("no_tier"); the page words each without internal labels. A fixed
    number of queries. Money stays Decimal (`insights.api.scorecard_body` writes it for JSON)."""
    run, _previous = published_runs(distributor=distributor)
    score = score_for(distributor=distributor, run=run, customer=customer)
    base = {
        "available": False,
        "customer": {"account": customer.customer_id, "name": customer.name or customer.customer_id},
        "currency": distributor.currency,
    }
    if run is None:
        return {**base, "reason": "no_run"}
    if score is None:  # not in the run: no purchase in its window nor the one before (a lapsed one is)
        window_days = int(ModelSettings.from_dict(run.settings).window_days)
        return {**base, "reason": "no_recent_purchases", "as_of": run.as_of.isoformat(), "window_days": window_days}
    policies = policy_list(distributor=distributor)
    policy = policy_for_segment(policies, score.segment)
    if policy is None:
        return {**base, "reason": "no_tier"}
    figures = figures_for(distributor=distributor, customer=customer, as_of=run.as_of)
    goal, aim, rows = goal_targets(policies=policies, policy=policy, figures=figures)
    period_end = qualification_end(distributor=distributor, run=run)
    target = aim if goal == "reach" else None
    trend = monthly_trend(distributor=distributor, customer=customer, as_of=run.as_of, months=24)
    return {
        **base,
        "available": True,
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "tier": {
            "name": policy.tier_name,
            "description": policy.description,
            "benefits": tier_benefits(policy, distributor),
        },
        "next_tier": {
            "name": target.tier_name,
            "benefits": tier_benefits(target, distributor),
            "adds": tier_adds(policy, target, distributor),
        }
        if target
        else None,
        "goal": goal,
        "goal_tier": aim.tier_name,
        "at_top_tier": goal == "keep",
        "period_end": period_end.isoformat(),
        "figures": figures,
        "targets": target_rows(rows, distributor, period_end),
        "history": [
            {"as_of": h["as_of"].isoformat() if h["as_of"] else None, "tier": h["tier"]}
            for h in tier_history(distributor=distributor, customer=customer, policies=policies)
        ],
        "trend": [{"month": m["month"], "purchases": m["revenue"]} for m in trend],
    }
