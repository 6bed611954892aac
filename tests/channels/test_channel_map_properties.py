"""Hypothesis: whatever the lines (any mix of suppliers, branches, partners, channels, categories,
empty values, returns) and however many nodes each column keeps, the map conserves revenue exactly:
in = out at every branch and route node, and the links into the categories add up to the total."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import channel_map as cm

VALUES = st.sampled_from(["", "a", "b", "c", "d", "e"])
ROW = st.fixed_dictionaries(
    {
        "cpk": st.integers(1, 8),
        "supplier": VALUES,
        "branch": VALUES,
        "partner": st.sampled_from(["", "P1", "P2"]),
        "channel": VALUES,
        "ship": st.sampled_from(["", "truck", "parcel"]),
        "lines": st.integers(1, 5),
        "revenue_units": st.integers(-50_000, 500_000),
        "cost_units": st.integers(0, 400_000),
        "cost_float": st.floats(0, 100),
        "segment": st.sampled_from(["core", "marginal", "opportunistic"]),
        "customer_class": VALUES,
    }
)


def flows(rows: list[dict]) -> cm.Flows:
    frame = pd.DataFrame(rows)
    frame["supply_chain_role"] = frame["customer_class"]
    for name in ("returns", "special", "ar_units"):
        frame[name] = 0
    frame["order_share"] = frame["delivery_share"] = 0.0
    frame["route"] = [
        f"partner:{p}" if p else (f"channel:{c}" if c else "")
        for p, c in zip(frame["partner"], frame["channel"], strict=True)
    ]
    interactions = pd.DataFrame(columns=["cpk", "kind", "channel", "opportunity", "segment", "customer_class"])
    return cm.Flows(frame=frame, interactions=interactions, partners={"P1": {"name": "One", "kind": "reseller"}})


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ROW, min_size=1, max_size=40), limit=st.integers(1, 6))
def test_revenue_is_conserved_whatever_the_lines_and_the_grouping(rows, limit):
    result = cm.build_map(flows(rows), by="customer_class", limit=limit)
    total = sum(r["revenue_units"] for r in rows)
    links, nodes = result["links"], result["nodes"]
    entering = [link for link in links if link["target"].startswith("customer_group:")]
    assert sum(link["revenue_units"] for link in entering) == total
    assert sum(n["revenue_units"] for n in nodes if n["kind"] == "customer_group") == total
    for node in nodes:
        inflow = sum(link["revenue_units"] for link in links if link["target"] == node["id"])
        outflow = sum(link["revenue_units"] for link in links if link["source"] == node["id"])
        if node["kind"] in ("branch", "route") and node["depth"] > 0:
            assert inflow == outflow == node["revenue_units"]
        # Each column keeps at most `limit` nodes, `(none)` and one "other".
    for kind in ("supplier", "branch", "route", "customer_group"):
        column = [n for n in nodes if n["kind"] == kind]
        assert len(column) <= limit + 2
        assert len({n["id"] for n in column}) == len(column)
    # Lines are counted once per column.
    assert sum(n["lines"] for n in nodes if n["kind"] == "customer_group") == sum(r["lines"] for r in rows)
