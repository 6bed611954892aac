"""The segments' vocabulary, defined once: their names, labels, the order pages list them in, their
colours, and what moving between them means. Everything else (model choices, filters, tables,
charts, exports) derives from here; `static/css/stratify.css` repeats the colours for the badges and
a test checks it agrees.

The segment keys themselves come from the engine (`stratify.engine`: the four ranked segments and
`lapsed`), which knows nothing of Django."""

from __future__ import annotations

from django.db.models import Case, F, IntegerField, Q, Value, When

from stratify.engine import LAPSED, SEGMENTS

RANKED_SEGMENTS: tuple[str, ...] = SEGMENTS  # core, service drain, opportunistic, marginal
SEGMENT_LABELS: dict[str, str] = {
    "core": "Core",
    "service_drain": "Service drain",
    "opportunistic": "Opportunistic",
    "marginal": "Marginal",
    LAPSED: "Lapsed",
}
# Model choices keep the engine's order (what the migrations recorded).
SEGMENT_CHOICES: list[tuple[str, str]] = [(s, SEGMENT_LABELS[s]) for s in (*RANKED_SEGMENTS, LAPSED)]
# The order pages list segments in, best first. Profit comes before value: a service-drain customer
# buys a lot but loses money, so an opportunistic (profitable) one ranks above it.
SEGMENT_ORDER: tuple[str, ...] = ("core", "opportunistic", "service_drain", "marginal", LAPSED)
SEGMENT_RANK: dict[str, int] = {s: i for i, s in enumerate(SEGMENT_ORDER)}
SEGMENT_COLORS: dict[str, str] = {
    "core": "#198754",
    "service_drain": "#fd7e14",
    "opportunistic": "#0d6efd",
    "marginal": "#6c757d",
    LAPSED: "#dc3545",
}
MOVEMENT_CHOICES: list[tuple[str, str]] = [
    ("up", "Moved up"),
    ("down", "Moved down"),
    ("same", "Unchanged"),
    ("new", "New"),
]

# The model's factors as pages name them (settings, explanations).
FACTOR_LABELS: dict[str, str] = {
    "revenue": "Revenue",
    "growth": "Growth",
    "orders": "Orders",
    "products": "Products",
    "categories": "Categories",
    "active_months": "Active months",
    "tenure_days": "Tenure (days)",
    "recency_days": "Days since last order",
    "gross_margin": "Gross margin",
    "gm_pct": "Gross margin %",
    "cost_to_serve": "Cost to serve",
    "net_profit": "Net profit",
    "net_margin_pct": "Net margin %",
    "share_of_wallet": "Share of wallet",
}


def segment_rank_expr(field: str) -> Case:
    """SQL: the segment's position in SEGMENT_ORDER (for sorting best first); NULL when unranked."""
    return Case(
        *[When(**{field: s}, then=Value(i)) for s, i in SEGMENT_RANK.items()],
        default=Value(None),
        output_field=IntegerField(),
    )


def movement_of(segment: str | None, previous: str | None) -> str:
    """'up', 'down', 'same' or 'new' (no previous segment)."""
    if not segment:
        return ""
    if not previous:
        return "new"
    a, b = SEGMENT_RANK.get(segment, 99), SEGMENT_RANK.get(previous, 99)
    return "same" if a == b else ("up" if a < b else "down")


def movement_q(movement: str, prefix: str = "") -> Q:
    """SQL condition for a movement, on score fields named `<prefix>segment` / `<prefix>previous_segment`."""
    seg, prev = f"{prefix}segment", f"{prefix}previous_segment"
    if movement == "new":
        return Q(**{f"{seg}__isnull": False}) & (Q(**{prev: ""}) | Q(**{f"{prev}__isnull": True}))
    if movement == "same":
        return Q(**{seg: F(prev)})
    pairs = [
        (a, b)
        for a in SEGMENT_ORDER
        for b in SEGMENT_ORDER
        if (SEGMENT_RANK[a] < SEGMENT_RANK[b] if movement == "up" else SEGMENT_RANK[a] > SEGMENT_RANK[b])
    ]
    q = Q(pk__in=[])
    for a, b in pairs:
        q |= Q(**{seg: a, prev: b})
    return q
