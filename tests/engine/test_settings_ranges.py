"""validate_settings: every number finite and in range, the field named (see its docstring)."""

from decimal import Decimal

import pytest

from stratify.engine import ModelSettings, validate_settings
from stratify.engine.settings import SettingsError


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"window_days": 1e300}, "window_days"),
        ({"window_days": "99999999999999999999"}, "window_days"),
        ({"window_days": 6}, "window_days"),
        ({"window_days": 3651}, "window_days"),
        ({"window_days": float("nan")}, "window_days"),
        ({"window_days": float("inf")}, "window_days"),
        ({"cost_per_line": "1e400"}, "cost_per_line"),
        ({"cost_per_line": Decimal("1E+400")}, "cost_per_line"),
        ({"cost_per_line": float("inf")}, "cost_per_line"),
        ({"cost_per_line": "2.505"}, "cost_per_line"),
        ({"cost_per_order": True}, "cost_per_order"),
        ({"cost_per_order": "twenty"}, "cost_per_order"),
        ({"delivery_cost": {"van": 1_000_000.01}}, "delivery_cost.van"),
        ({"ar_carrying_rate": "1.000001"}, "ar_carrying_rate"),
        ({"ar_carrying_rate": "0.0000001"}, "ar_carrying_rate"),
        ({"value_weights": {"revenue": 100.5}}, "value_weights.revenue"),
        ({"value_weights": {"revenue": float("nan")}}, "value_weights.revenue"),
        ({"profit_top_share": float("nan")}, "profit_top_share"),
    ],
)
def test_absurd_values_name_their_field(data, field):
    errors = validate_settings(data)
    assert list(errors) == [field], errors
    with pytest.raises(SettingsError):
        ModelSettings.from_dict(data)


def test_edges_are_valid_and_round_trip():
    data = {
        "window_days": 3650,
        "cost_per_order": "1000000",
        "cost_per_line": 0.01,
        "delivery_cost": {"van": "1000000.00", "truck": 0},
        "ar_carrying_rate": "0.000001",
        "value_weights": {"revenue": 100, "orders": 0},
        "profit_weights": {"net_profit": 0.001},
        "value_top_share": 0.01,
        "profit_top_share": 0.99,
    }
    assert validate_settings(data) == {}
    assert validate_settings({"window_days": "7", "ar_carrying_rate": 1}) == {}
    model = ModelSettings.from_dict(data)
    assert ModelSettings.from_dict(model.to_dict()) == model


def test_messages_say_the_range():
    errors = validate_settings({"window_days": 1e300, "cost_per_line": "1e400", "value_weights": {"revenue": 101}})
    assert errors["window_days"] == ["must be between 7 and 3,650 days"]
    assert errors["cost_per_line"] == ["must be between 0 and 1,000,000"]
    assert errors["value_weights.revenue"] == ["must be between 0 and 100"]
