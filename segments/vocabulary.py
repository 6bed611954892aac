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


# The model's settings as pages name them (the settings form, the run page's what-if diff, the
# history of changes).
RATE_LABELS: dict[str, str] = {
    "cost_per_order": "Cost per order",
    "cost_per_line": "Cost per line",
    "cost_per_return": "Cost per return line",
    "cost_per_special_order": "Cost per special-order line",
    "default_delivery_cost": "Default delivery cost",
    "ar_carrying_rate": "Receivables carrying rate (per year)",
}
SETTING_LABELS: dict[str, str] = {
    "window_days": "Window (days)",
    "value_top_share": "High value: top % of customers",
    "profit_top_share": "High profit: top % of customers",
    "value_weights": "Value weight",
    "profit_weights": "Profit weight",
    "delivery_cost": "Delivery cost",
    **RATE_LABELS,
}
SHARE_SETTINGS = frozenset({"value_top_share", "profit_top_share"})


def _setting_text(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if key in SHARE_SETTINGS:
        try:
            return f"{float(value) * 100:g}%"
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def settings_diff(before: dict | None, after: dict | None) -> list[tuple[str, str, str]]:
    """What differs between two settings dicts, in words: (label, before, after) rows. Weights and
    delivery costs are compared factor by factor ("Value weight: Revenue", 0.35 -> 0.9; a factor
    left out weighs 0), shares shown as percentages."""
    before, after = before or {}, after or {}
    rows: list[tuple[str, str, str]] = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        label = SETTING_LABELS.get(key, key.replace("_", " ").capitalize())
        if isinstance(old, dict) or isinstance(new, dict):
            old, new = old or {}, new or {}
            missing = 0 if key.endswith("_weights") else None
            for name in [*new, *(n for n in old if n not in new)]:
                a, b = old.get(name, missing), new.get(name, missing)
                if a != b:
                    name_label = f"{label}: {FACTOR_LABELS.get(name, name)}"
                    rows.append((name_label, _setting_text(key, a), _setting_text(key, b)))
            continue
        rows.append((label, _setting_text(key, old), _setting_text(key, new)))
    return rows


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


# The order a "Movement" column sorts in: who moved down first (what a rep looks for), then up, new
# to the run, unchanged.
MOVEMENT_SORT: tuple[str, ...] = ("down", "up", "new", "same")


def movement_rank_expr(prefix: str = "") -> Case:
    """SQL: the movement's position in MOVEMENT_SORT (NULL for a customer not in the run)."""
    return Case(
        *[When(movement_q(m, prefix), then=Value(i)) for i, m in enumerate(MOVEMENT_SORT)],
        default=Value(None),
        output_field=IntegerField(),
    )
