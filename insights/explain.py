"""A customer's scores in words: the run's explanation JSON (per axis, the factors that lift the
customer and those that hold it back, with the percentile it reaches) as sentences."""

from segments.vocabulary import FACTOR_LABELS
from stratify.formatting import format_money, format_number, format_percent

# (when the factor helps, when it hurts); {p}: the share of ranked customers this one beats.
FACTOR_TEXT: dict[str, tuple[str, str]] = {
    "revenue": ("buys more than {p} of customers", "buys less than {q} of customers"),
    "growth": ("purchases grew faster than {p} of customers'", "purchases grew slower than {q} of customers'"),
    "orders": ("orders more often than {p} of customers", "orders less often than {q} of customers"),
    "products": (
        "buys a wider range of products than {p} of customers",
        "buys a narrower range of products than {q} of customers",
    ),
    "categories": (
        "buys across more categories than {p} of customers",
        "buys across fewer categories than {q} of customers",
    ),
    "active_months": (
        "buys in more months of the year than {p} of customers",
        "buys in fewer months of the year than {q} of customers",
    ),
    "tenure_days": ("has been a customer longer than {p} of customers", "is a newer customer than {q} of customers"),
    "recency_days": ("ordered more recently than {p} of customers", "has not ordered as recently as {q} of customers"),
    "gross_margin": ("earns more gross margin than {p} of customers", "earns less gross margin than {q} of customers"),
    "gm_pct": ("has a better margin % than {p} of customers", "has a lower margin % than {q} of customers"),
    "cost_to_serve": ("costs less to serve than {p} of customers", "costs more to serve than {q} of customers"),
    "net_profit": (
        "makes more profit after cost to serve than {p} of customers",
        "makes less profit after cost to serve than {q} of customers",
    ),
    "net_margin_pct": (
        "keeps more of each sale as profit than {p} of customers",
        "keeps less of each sale as profit than {q} of customers",
    ),
    "share_of_wallet": (
        "gives us a bigger share of its spend than {p} of customers",
        "gives us a smaller share of its spend than {q} of customers",
    ),
}
MONEY_FACTORS = frozenset({"revenue", "gross_margin", "cost_to_serve", "net_profit"})
PCT_FACTORS = frozenset({"growth", "gm_pct", "net_margin_pct", "share_of_wallet"})


def format_factor(factor: str, value, distributor=None) -> str:
    """A factor's value as the page shows it: money in the tenant's currency, ratios as percentages,
    counts with the locale's grouping."""
    if value is None:
        return "n/a"
    if factor in MONEY_FACTORS:
        return format_money(value, distributor)
    if factor in PCT_FACTORS:
        return format_percent(value, distributor)
    return format_number(value, distributor)


def explain(explanation: dict | None, distributor=None) -> list[dict]:
    """The run's explanation JSON as sentences: per axis, what lifts and what holds the customer back."""
    out = []
    axes = {"value": "Value", "profit": "Profit"}
    for axis, axis_label in axes.items():
        part = (explanation or {}).get(axis) or {}
        for tone in ("positive", "negative"):
            for item in part.get(tone) or []:
                factor = item.get("factor")
                if factor not in FACTOR_TEXT:
                    continue
                p = float(item.get("percentile") or 0)
                template = FACTOR_TEXT[factor][0 if tone == "positive" else 1]
                # "More than 100% of customers" reads wrong: the best customer beats all the others.
                text = template.format(p=f"{min(p, 0.99):.0%}", q=f"{min(1 - p, 0.99):.0%}")
                out.append(
                    {
                        "axis": axis,
                        "axis_label": axis_label,
                        "tone": tone,
                        "factor": factor,
                        "label": FACTOR_LABELS[factor],
                        "text": text[0].upper() + text[1:],
                        "value": format_factor(factor, item.get("value"), distributor),
                    }
                )
    return out
