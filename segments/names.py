"""How a code the pages show reads where it has a name: a rep, partner or supplier with its name, a
supply-chain role or a segment by its label (the profit centers' values, the alerts' subjects)."""

from __future__ import annotations

from channels.selectors import partner_list
from channels.vocabulary import ROUTE_LABELS, SHIP_METHOD_LABELS
from sales.models import Customer
from sales.selectors import rep_list
from segments.profit_centers import shown
from segments.vocabulary import SEGMENT_LABELS


def value_names(*, distributor, dimension: str, codes=None) -> dict[str, str]:
    """How a dimension's values read where a code has a name (pages, exports, the sentences): a rep,
    partner or supplier code with its name ("R008 · Maria Rossi"; a supplier is a partner of the
    partners file), a supply-chain role or a segment by its label ("End user"), a ship method or
    route to market that DATA_FORMAT.md names in plain words ("Will call (pickup)", "EDI"; a route
    that is a partner's id with the partner's name). Other values read as the data has them (`named`
    falls back to `shown`). One query at most, of the `codes` given (all the tenant's reps or
    partners without them)."""
    if dimension in ("rep", "assigned_rep"):
        rows, code = rep_list(distributor=distributor), "rep_id"
    elif dimension in ("partner", "supplier", "channel"):
        rows, code = partner_list(distributor=distributor), "partner_id"
    elif dimension == "ship_method":
        return dict(SHIP_METHOD_LABELS)
    elif dimension == "supply_chain_role":
        return dict(Customer.SupplyChainRole.choices)
    elif dimension == "segment":
        return dict(SEGMENT_LABELS)
    else:
        return {}
    if codes is not None:
        rows = rows.filter(**{f"{code}__in": list(codes)})
    names = {value: coded(value, name) for value, name in rows.exclude(name="").values_list(code, "name")}
    # A route DATA_FORMAT.md names reads in words, even where a partner has its code for an id.
    return names | ROUTE_LABELS if dimension == "channel" else names


def coded(code: str, name: str | None) -> str:
    """A code with its name ("R008 · Maria Rossi"), or the code alone when it has none."""
    return f"{code} · {name}" if name else code


def named(value: str | None, names: dict[str, str]) -> str:
    """A dimension value as it reads (see `value_names`)."""
    return names.get(value) or shown(value)
