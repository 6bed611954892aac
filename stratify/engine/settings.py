"""Model settings of the stratification engine (STRATIFICATION.md, sections 1, 3, 4 and 5).

``ModelSettings`` is an immutable value: every run stores ``settings.to_dict()`` (JSON-safe, money as
strings) and can be rebuilt with ``ModelSettings.from_dict``.

Semantics of partial dicts (``from_dict`` / ``with_overrides``): a missing top-level key takes its
default; a nested dict that *is* given (``value_weights``, ``profit_weights``, ``delivery_cost``)
replaces the default dict as a whole (it is not merged key by key), so ``{"value_weights":
{"revenue": 1}}`` means "value is revenue only". Unknown keys are an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

FACTORS: tuple[str, ...] = (
    "revenue",
    "growth",
    "orders",
    "products",
    "categories",
    "active_months",
    "tenure_days",
    "recency_days",
    "gross_margin",
    "gm_pct",
    "cost_to_serve",
    "net_profit",
    "net_margin_pct",
    "share_of_wallet",
)
LOWER_IS_BETTER: frozenset[str] = frozenset({"recency_days", "cost_to_serve"})

SEGMENTS: tuple[str, ...] = ("core", "service_drain", "opportunistic", "marginal")
LAPSED = "lapsed"

DEFAULT_VALUE_WEIGHTS: dict[str, float] = {
    "revenue": 0.35,
    "orders": 0.15,
    "active_months": 0.15,
    "products": 0.10,
    "categories": 0.10,
    "growth": 0.10,
    "tenure_days": 0.05,
}
DEFAULT_PROFIT_WEIGHTS: dict[str, float] = {"net_profit": 0.60, "net_margin_pct": 0.40}

RATE_FIELDS: tuple[str, ...] = (
    "cost_per_order",
    "cost_per_line",
    "cost_per_return",
    "cost_per_special_order",
    "default_delivery_cost",
    "ar_carrying_rate",
)
WEIGHT_FIELDS: tuple[str, ...] = ("value_weights", "profit_weights")
SHARE_FIELDS: tuple[str, ...] = ("value_top_share", "profit_top_share")


# Ranges (STRATIFICATION.md fixes only the shares, strictly between 0 and 1 (section 5), and that
# weights are relative, `sum(w_i * p_i) / sum(w_i)` (section 4); the rest is this project's choice,
# wide enough for any real distributor and narrow enough that a run never overflows):
WINDOW_DAYS_MIN, WINDOW_DAYS_MAX = 7, 3650  # a week to ten years (the prior window doubles it)
MONEY_MAX = Decimal("1000000")  # cost_per_* and delivery costs: 0 to 1,000,000 in the tenant's currency,
MONEY_PLACES = 2  # in cents
AR_RATE_MAX = Decimal("1")  # ar_carrying_rate, a yearly rate: 0 to 1 (100% a year),
AR_RATE_PLACES = 6  # to a millionth
WEIGHT_MAX = 100.0  # each weight 0 to 100 (relative: 0.35 or 35 mean the same against the others)
MONEY_FIELDS: tuple[str, ...] = tuple(name for name in RATE_FIELDS if name != "ar_carrying_rate")


class SettingsError(ValueError):
    """Invalid settings. ``errors`` maps a field name (``"value_weights.revenue"``) to messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        summary = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(self.errors.items()))
        super().__init__(f"invalid model settings: {summary}")


@dataclass(frozen=True)
class ModelSettings:
    window_days: int = 365
    cost_per_order: Decimal = Decimal("20.00")
    cost_per_line: Decimal = Decimal("2.50")
    cost_per_return: Decimal = Decimal("25.00")
    cost_per_special_order: Decimal = Decimal("30.00")
    delivery_cost: dict[str, Decimal] = field(default_factory=dict)
    default_delivery_cost: Decimal = Decimal("15.00")
    ar_carrying_rate: Decimal = Decimal("0.10")
    value_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_VALUE_WEIGHTS))
    profit_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PROFIT_WEIGHTS))
    value_top_share: float = 0.30
    profit_top_share: float = 0.30

    # A frozen dataclass holding dicts cannot hash them; settings are compared, never hashed.
    __hash__ = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        # Normalise types (callers may pass ints, floats or strings): money/rates exact Decimals read
        # through str(), weights and shares floats, nested dicts copied so the value stays immutable.
        set_ = object.__setattr__
        set_(self, "window_days", int(self.window_days))
        for name in RATE_FIELDS:
            set_(self, name, _to_decimal(getattr(self, name)))
        set_(self, "delivery_cost", {str(k): _to_decimal(v) for k, v in dict(self.delivery_cost).items()})
        for name in WEIGHT_FIELDS:
            set_(self, name, {str(k): float(v) for k, v in dict(getattr(self, name)).items()})
        for name in SHARE_FIELDS:
            set_(self, name, float(getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: Decimals as strings, weights and shares as floats."""
        return {
            "window_days": int(self.window_days),
            "cost_per_order": str(self.cost_per_order),
            "cost_per_line": str(self.cost_per_line),
            "cost_per_return": str(self.cost_per_return),
            "cost_per_special_order": str(self.cost_per_special_order),
            "delivery_cost": {str(k): str(v) for k, v in sorted(self.delivery_cost.items())},
            "default_delivery_cost": str(self.default_delivery_cost),
            "ar_carrying_rate": str(self.ar_carrying_rate),
            "value_weights": {k: float(v) for k, v in self.value_weights.items()},
            "profit_weights": {k: float(v) for k, v in self.profit_weights.items()},
            "value_top_share": float(self.value_top_share),
            "profit_top_share": float(self.profit_top_share),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ModelSettings:
        """Build settings from a (possibly partial) dict; raise ``SettingsError`` when invalid."""
        data = dict(data or {})
        errors = validate_settings(data)
        if errors:
            raise SettingsError(errors)
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "window_days":
                kwargs[key] = int(value)
            elif key in RATE_FIELDS:
                kwargs[key] = _to_decimal(value)
            elif key == "delivery_cost":
                kwargs[key] = {str(k): _to_decimal(v) for k, v in value.items()}
            elif key in WEIGHT_FIELDS:
                kwargs[key] = {str(k): float(v) for k, v in value.items()}
            elif key in SHARE_FIELDS:
                kwargs[key] = float(value)
        return cls(**kwargs)

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> ModelSettings:
        """New settings: these ones with the given top-level keys replaced (validated)."""
        merged = self.to_dict()
        merged.update(dict(overrides or {}))
        return type(self).from_dict(merged)

    def copy_with(self, **changes: Any) -> ModelSettings:
        """dataclasses.replace, without validation (for internal use and tests)."""
        return replace(self, **changes)


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ModelSettings))


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return Decimal(value.strip())
    return Decimal(str(value))


def _number_error(value: Any) -> str | None:
    """None when ``value`` is a finite number (or a numeric string), else a message."""
    if isinstance(value, bool) or value is None:
        return "must be a number"
    if isinstance(value, Decimal):
        return None if value.is_finite() else "must be a finite number"
    if isinstance(value, int | float):
        return None if math.isfinite(float(value)) else "must be a finite number"
    if isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            return "must be a number"
        return None if dec.is_finite() else "must be a finite number"
    try:  # numpy scalars and the like
        number = float(value)
    except (TypeError, ValueError):
        return "must be a number"
    return None if math.isfinite(number) else "must be a finite number"


def _amount_error(value: Any, *, maximum: Decimal, places: int) -> str | None:
    """None when ``value`` is a finite number from 0 to ``maximum`` with at most ``places`` decimals."""
    message = _number_error(value)
    if message:
        return message
    amount = _to_decimal(value)
    if not 0 <= amount <= maximum:
        return f"must be between 0 and {maximum:,}"
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        return f"must have at most {places} decimal places"
    return None


def validate_settings(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Check a (possibly partial) settings dict; return ``{field: [messages]}``, empty when valid.

    Missing keys take their defaults (so ``{}`` is valid). Nested fields are named
    ``"value_weights.revenue"``, ``"delivery_cost.parcel"``.

    Every number must be finite and in range (NaN, infinities, booleans, non-numeric strings and
    values that would overflow a run are errors):

    - ``window_days``: an integer from 7 to 3,650 days (a whole number given as text or float is fine);
    - money (``cost_per_order``, ``cost_per_line``, ``cost_per_return``, ``cost_per_special_order``,
      ``default_delivery_cost``, each ``delivery_cost`` entry): 0 to 1,000,000, at most 2 decimals;
    - ``ar_carrying_rate`` (a yearly rate): 0 to 1, at most 6 decimals;
    - each weight: 0 to 100, at least one above 0 per axis (weights are relative: STRATIFICATION.md
      section 4 divides by their sum);
    - ``value_top_share``, ``profit_top_share``: strictly between 0 and 1 (section 5).

    Only STRATIFICATION.md's shares and the weights' normalisation come from the document; the other
    ranges are this project's choice.
    """
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not isinstance(data, Mapping):
        return {"__all__": ["settings must be an object"]}

    for key in data:
        if key not in SETTING_NAMES:
            add(str(key), "unknown setting")

    if "window_days" in data:
        value = data["window_days"]
        ok = False
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            or isinstance(value, float)
            and value.is_integer()
            or isinstance(value, str)
            and value.strip().lstrip("+").isdigit()
        ):
            ok = True
        if not ok:
            add("window_days", "must be an integer")
        elif not WINDOW_DAYS_MIN <= int(_to_decimal(value)) <= WINDOW_DAYS_MAX:
            add("window_days", f"must be between {WINDOW_DAYS_MIN} and {WINDOW_DAYS_MAX:,} days")

    for key in RATE_FIELDS:
        if key in data:
            if key in MONEY_FIELDS:
                message = _amount_error(data[key], maximum=MONEY_MAX, places=MONEY_PLACES)
            else:
                message = _amount_error(data[key], maximum=AR_RATE_MAX, places=AR_RATE_PLACES)
            if message:
                add(key, message)

    if "delivery_cost" in data:
        mapping = data["delivery_cost"]
        if not isinstance(mapping, Mapping):
            add("delivery_cost", "must be an object mapping ship methods to costs")
        else:
            for method, value in mapping.items():
                if not isinstance(method, str) or not method.strip():
                    add("delivery_cost", "ship method names must be non-empty strings")
                    continue
                message = _amount_error(value, maximum=MONEY_MAX, places=MONEY_PLACES)
                if message:
                    add(f"delivery_cost.{method}", message)

    for key in WEIGHT_FIELDS:
        if key not in data:
            continue
        mapping = data[key]
        if not isinstance(mapping, Mapping):
            add(key, "must be an object mapping factors to weights")
            continue
        total = 0.0
        valid = True
        for factor, value in mapping.items():
            name = f"{key}.{factor}"
            if factor not in FACTORS:
                add(name, "unknown factor")
                valid = False
                continue
            message = _number_error(value)
            if message:
                add(name, message)
                valid = False
                continue
            weight = float(value)
            if not 0 <= weight <= WEIGHT_MAX:
                add(name, f"must be between 0 and {WEIGHT_MAX:g}")
                valid = False
                continue
            total += weight
        if valid and total <= 0:
            add(key, "at least one weight must be greater than 0")

    for key in SHARE_FIELDS:
        if key in data:
            message = _number_error(data[key])
            if message:
                add(key, message)
            elif not 0 < float(data[key]) < 1:
                add(key, "must be strictly between 0 and 1")

    return errors
