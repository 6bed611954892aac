"""How a code the pages show reads where it has a name: a rep, partner or supplier with its name, a
supply-chain role or a segment by its label (the profit centers' values, the alerts' subjects)."""

from __future__ import annotations

from django.db.models import Q

from channels.selectors import partner_list
from channels.vocabulary import ROUTE_LABELS, SHIP_METHOD_LABELS
from sales.models import Customer
from sales.selectors import product_list, rep_list
from segments.profit_centers import shown
from segments.vocabulary import SEGMENT_LABELS


def value_names(*, distributor, dimension: str, codes=None) -> dict[str, str]:
    """How a dimension's values read where a code has a name (pages, exports, the sentences): a rep,
    partner or supplier code with its name ("R008 · Maria Rossi"; a supplier is a partner of the
    partners file), a product's SKU with its name ("SKU-17 · Copper elbow 15 mm"), a supply-chain
    role or a segment by its label ("End user"), a ship method or
    route to market that DATA_FORMAT.md names in plain words ("Will call (pickup)", "EDI"; a route
    that is a partner's id with the partner's name). Other values read as the data has them (`named`
    falls back to `shown`). One query at most, of the `codes` given (all the tenant's reps, partners
    or products without them: pass the codes shown where a tenant may have many products)."""
    coded_rows = _coded_rows(distributor, dimension)
    if coded_rows is not None:
        rows, code = coded_rows
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


def _coded_rows(distributor, dimension: str):
    """(queryset, code field) of the dimension whose codes have names in a table of their own."""
    if dimension in ("rep", "assigned_rep"):
        return rep_list(distributor=distributor), "rep_id"
    if dimension in ("partner", "supplier", "channel"):
        return partner_list(distributor=distributor), "partner_id"
    if dimension == "product":
        return product_list(distributor=distributor), "product_id"
    return None


def matching(*, distributor, dimension: str, text: str, field: str = "value") -> Q:
    """A filter on `field` (a dimension's code) for the values whose code or displayed name contains
    `text`, ignoring case: "Lumen" finds "SUP012 · Lumen Tech", "Rossi" a rep's code. Names in a table
    of their own (reps, partners, products) are matched by the database (a subquery: nothing is read
    into Python); a vocabulary's few labels (ship methods, routes, roles, segments) in Python."""
    text = (text or "").strip()
    where = Q(**{f"{field}__icontains": text})
    if not text:
        return where
    coded_rows = _coded_rows(distributor, dimension)
    labels = (
        ROUTE_LABELS
        if dimension == "channel"
        else ({} if coded_rows else value_names(distributor=distributor, dimension=dimension))
    )
    codes = [code for code, label in labels.items() if text.lower() in str(label).lower()]
    if codes:
        where |= Q(**{f"{field}__in": codes})
    if coded_rows is not None:
        rows, code = coded_rows
        where |= Q(**{f"{field}__in": rows.filter(name__icontains=text).values(code)})
    return where


def coded(code: str, name: str | None) -> str:
    """A code with its name ("R008 · Maria Rossi"), or the code alone when it has none."""
    return f"{code} · {name}" if name else code


def named(value: str | None, names: dict[str, str]) -> str:
    """A dimension value as it reads (see `value_names`)."""
    return names.get(value) or shown(value)
