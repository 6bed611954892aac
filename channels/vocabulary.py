"""How the codes of the routes to market and the ship methods read on pages: the codes
DATA_FORMAT.md names (`will_call`, `drop_ship`, `edi`...) in plain words. Other codes are shown as
the ERP sends them (a distributor's own code, `UPS-GND` say, is already what its people call it);
the API, the imports and the settings keep the codes."""

from __future__ import annotations

SHIP_METHOD_LABELS: dict[str, str] = {
    "delivery": "Delivery",
    "will_call": "Will call (pickup)",
    "parcel": "Parcel",
    "drop_ship": "Drop ship",
    "freight": "Freight",
    "web": "Web",
}
ROUTE_LABELS: dict[str, str] = {"direct": "Direct", "counter": "Counter", "web": "Web", "edi": "EDI"}


def ship_method_label(code: str | None) -> str | None:
    """A ship method as pages show it (the code itself when DATA_FORMAT.md does not name it)."""
    return SHIP_METHOD_LABELS.get(code, code) if code else code


def route_label(code: str | None) -> str | None:
    """A route to market (the `channel` of a line) as pages show it."""
    return ROUTE_LABELS.get(code, code) if code else code


def labelled_shares(shares: dict[str, float] | None, labels: dict[str, str]) -> dict[str, float]:
    """{code: share} (largest first) with its codes as pages show them."""
    return {labels.get(code, code): share for code, share in (shares or {}).items()}
