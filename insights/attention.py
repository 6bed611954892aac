"""The "needs attention" rules: in SQL (the my-customers filter) and in words (the table, the
customer page and the export). Thresholds are deliberately simple: they point a rep at an account,
the reasons say why."""

from django.db.models import Q

from segments.vocabulary import SEGMENT_LABELS, movement_of, movement_q

STALE_DAYS = 90
GROWTH_DROP = -0.2


def attention_q(prefix: str = "") -> Q:
    p = prefix
    return (
        Q(**{f"{p}segment": "lapsed"})
        | Q(**{f"{p}net_profit__lt": 0})
        | Q(**{f"{p}recency_days__gt": STALE_DAYS})
        | Q(**{f"{p}growth__lt": GROWTH_DROP})
        | movement_q("down", prefix)
    )


def attention_reasons(row) -> list[str]:
    """Why a customer needs attention, in words; `row` has the score fields as attributes."""
    reasons = []
    segment, previous = getattr(row, "segment", None), getattr(row, "previous_segment", None)
    if segment == "lapsed":
        reasons.append("No purchases in the last window")
    if movement_of(segment, previous) == "down":
        reasons.append(f"Dropped from {SEGMENT_LABELS.get(previous, previous)}")
    net_profit = getattr(row, "net_profit", None)
    if net_profit is not None and net_profit < 0:
        reasons.append("Losing money after cost to serve")
    recency = getattr(row, "recency_days", None)
    if recency is not None and recency > STALE_DAYS:
        reasons.append(f"No order for {int(recency)} days")
    growth = getattr(row, "growth", None)
    if growth is not None and growth < GROWTH_DROP:
        reasons.append(f"Revenue down {abs(growth):.0%} on the prior year")
    return reasons
