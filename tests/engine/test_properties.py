"""Properties of the model that must hold for any data and settings (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stratify.engine import (
    FACTORS,
    LINE_COLUMNS,
    SEGMENTS,
    ModelSettings,
    aggregate_lines,
    stratify,
)
from tests.engine.test_reference_agreement import AS_OF, line_sets, model_settings

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# factors that cannot go down when a customer's revenue alone goes up
REVENUE_MONOTONE = ["revenue", "growth", "orders", "products", "categories", "active_months",
                    "tenure_days", "recency_days", "share_of_wallet", "cost_to_serve"]  # fmt: skip


def tables(lines, potential, model):
    frame = pd.DataFrame(lines, columns=list(LINE_COLUMNS))
    pot = pd.Series(potential, dtype=object) if potential else None
    return aggregate_lines(frame, as_of=AS_OF, window_days=model.window_days, potential=pot)


@FAST
@given(data=st.data())
def test_ranks_and_scores_are_in_range(data):
    model = data.draw(model_settings())
    lines, potential = data.draw(line_sets(window_days=model.window_days))
    result = stratify(*tables(lines, potential, model), model)
    scores = result.scores
    for f in FACTORS:
        p = scores[f"p_{f}"]
        assert ((p >= 0) & (p <= 1)).all(), f
        present = scores[f].notna()
        assert (p[present] > 0).all(), f  # a ranked value is never at 0
    for column in ("value_rank", "profit_rank"):
        assert ((scores[column] > 0) & (scores[column] <= 1)).all()
    for column in ("value_score", "profit_score"):
        assert ((scores[column] >= 0) & (scores[column] <= 1)).all()


@FAST
@given(data=st.data())
def test_segments_partition_the_active_customers(data):
    model = data.draw(model_settings())
    lines, potential = data.draw(line_sets(window_days=model.window_days))
    aggregates, deliveries = tables(lines, potential, model)
    result = stratify(aggregates, deliveries, model)
    active = set(aggregates.loc[aggregates["window_lines"] > 0, "customer_id"])
    lapsed = set(aggregates.loc[(aggregates["window_lines"] == 0) & (aggregates["prior_lines"] > 0), "customer_id"])
    scored = list(result.scores["customer_id"])
    assert len(scored) == len(set(scored))
    assert set(scored) == active
    assert set(result.lapsed) == lapsed and not (lapsed & active)
    assert result.lapsed == sorted(result.lapsed)
    assert set(result.scores["segment"]) <= set(SEGMENTS)
    assert set(result.totals) == set(SEGMENTS)
    assert sum(t["count"] for t in result.totals.values()) == len(active)
    for seg in SEGMENTS:
        members = result.scores[result.scores["segment"] == seg]
        assert result.totals[seg]["count"] == len(members)
        in_seg = aggregates[aggregates["customer_id"].isin(members["customer_id"])]
        assert result.totals[seg]["revenue"] == sum(in_seg["revenue"], Decimal(0))
    # high profit needs a profit
    high_profit = result.scores["segment"].isin(["core", "opportunistic"])
    assert (result.scores.loc[high_profit, "net_profit"] > 0).all()
    # high value is exactly value_rank > 1 - share
    high_value = result.scores["segment"].isin(["core", "service_drain"])
    assert (high_value == (result.scores["value_rank"] > 1 - model.value_top_share + 1e-12)).all()


@FAST
@given(data=st.data())
def test_raising_revenue_never_lowers_the_value_score(data):
    lines, potential = data.draw(line_sets())
    weights = data.draw(
        st.dictionaries(st.sampled_from(REVENUE_MONOTONE), st.integers(1, 10).map(lambda k: k / 10), min_size=1)
    )
    model = ModelSettings(value_weights=weights)
    aggregates, deliveries = tables(lines, potential, model)
    active = aggregates.index[aggregates["window_lines"] > 0].tolist()
    assume(active)
    position = data.draw(st.sampled_from(active))
    raise_by = data.draw(st.integers(min_value=1, max_value=1_000_000).map(lambda c: Decimal(c) / 100))
    customer = aggregates.loc[position, "customer_id"]

    before = stratify(aggregates, deliveries, model).scores.set_index("customer_id")
    raised = aggregates.copy()
    raised["revenue"] = raised["revenue"].astype(object)
    raised.loc[position, "revenue"] = raised.loc[position, "revenue"] + raise_by
    after = stratify(raised, deliveries, model).scores.set_index("customer_id")

    assert after.loc[customer, "p_revenue"] >= before.loc[customer, "p_revenue"]
    assert after.loc[customer, "value_score"] >= before.loc[customer, "value_score"] - 1e-12


@FAST
@given(data=st.data(), factor=st.sampled_from(["2", "3", "10", "0.5", "1.25", "0.01"]))
def test_scaling_all_money_changes_no_segment(data, factor):
    model = data.draw(model_settings())
    lines, potential = data.draw(line_sets(window_days=model.window_days))
    c = Decimal(factor)

    def scale(x):
        return None if x is None else Decimal(str(x)) * c

    scaled_lines = [{**ln, "revenue": scale(ln["revenue"]), "cost": scale(ln["cost"])} for ln in lines]
    scaled_potential = {k: scale(v) for k, v in potential.items()}
    scaled_model = model.copy_with(
        cost_per_order=model.cost_per_order * c,
        cost_per_line=model.cost_per_line * c,
        cost_per_return=model.cost_per_return * c,
        cost_per_special_order=model.cost_per_special_order * c,
        default_delivery_cost=model.default_delivery_cost * c,
        delivery_cost={k: v * c for k, v in model.delivery_cost.items()},
        # ar_carrying_rate is a rate per year, not money: revenue carries the scale
    )
    base = stratify(*tables(lines, potential, model), model).scores
    scaled = stratify(*tables(scaled_lines, scaled_potential, scaled_model), scaled_model).scores
    assert base["customer_id"].tolist() == scaled["customer_id"].tolist()
    assert base["segment"].tolist() == scaled["segment"].tolist()
    for column in ["value_rank", "profit_rank"] + [f"p_{f}" for f in FACTORS]:
        assert (base[column] - scaled[column]).abs().max() <= 1e-12 if len(base) else True, column


@FAST
@given(data=st.data(), seed=st.integers(0, 1000))
def test_row_order_does_not_matter(data, seed):
    model = data.draw(model_settings())
    lines, potential = data.draw(line_sets(window_days=model.window_days))
    aggregates, deliveries = tables(lines, potential, model)
    first = stratify(aggregates, deliveries, model)
    second = stratify(aggregates.sample(frac=1, random_state=seed), deliveries.sample(frac=1, random_state=seed), model)
    pd.testing.assert_frame_equal(first.scores, second.scores)
    assert first.lapsed == second.lapsed
    assert first.totals == second.totals
