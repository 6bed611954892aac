"""API of the read side: the customer scorecard (a customer user's own; staff "view as customer"
for a customer they may see)."""

from decimal import Decimal

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from sales.lookups import CUSTOMER
from sales.selectors import customer_list
from segments.selectors import current_run, published_runs
from stratify.formatting import money_str
from stratify.tenancy.api import TenantApiView
from stratify.tenancy.permissions import Perm, Role

from . import channel_map, definitions, gaps, history, leakage
from .benchframe import Slice, SliceError, assignment_stamp, parse_slice, slice_choices
from .coaching import rep_table, visible_reps
from .scorecard import scorecard_data


def _number(value):
    """A figure for JSON: whole numbers as integers, others as floats (None stays None)."""
    if value is None or isinstance(value, int):
        return value
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


MONEY_FIGURES = ("purchases", "average_order")


def scorecard_body(card: dict) -> dict:
    """The scorecard as the API answers it: every amount (12-month purchases, average order, money
    targets and gaps, monthly purchases) a decimal string with two decimals; other figures numbers.
    `targets`: each with `metric`, `label`, `value`, `target`, `direction` ("at_least" or
    "at_most"), `met`, `gap` (what is missing, 0 when met) and `text` (the gap in words)."""
    if not card.get("available"):
        return card
    body = dict(card)
    body["figures"] = {
        key: money_str(value) if key in MONEY_FIGURES else _number(value) for key, value in card["figures"].items()
    }
    spell = lambda row, v: money_str(v) if row["kind"] == "money" else _number(v)  # noqa: E731
    body["targets"] = [
        {
            "metric": row["metric"],
            "label": row["label"],
            "value": spell(row, row["value"]),
            "target": spell(row, row["target"]),
            "direction": row["direction"],
            "met": row["met"],
            "gap": spell(row, row["gap"]),
            "text": row["text"],
        }
        for row in card["targets"]
    ]
    body["trend"] = [{**month, "purchases": money_str(month["purchases"])} for month in card["trend"]]
    return body


class ScorecardApi(TenantApiView):
    """GET: the calling customer user's scorecard (`available: false` before a published run)."""

    permission = Perm.VIEW_SCORECARD

    def get(self, request, *args, **kwargs):
        customer = None
        if self.membership.role == Role.CUSTOMER:
            customer = customer_list(distributor=self.distributor, membership=self.membership).first()
        if customer is None:
            raise Http404("Only a customer user has an own scorecard; staff use customers/<id>/scorecard/.")
        return Response(scorecard_body(scorecard_data(distributor=self.distributor, customer=customer)))


class CustomerScorecardApi(TenantApiView):
    """GET: the scorecard of a customer the caller may see (reps: assigned customers), as the
    customer sees it. 404 for a customer of another tenant or one not visible."""

    permission = Perm.VIEW_CUSTOMERS
    lookups = (CUSTOMER,)

    def get(self, request, *args, **kwargs):
        return Response(scorecard_body(scorecard_data(distributor=self.distributor, customer=self.customer)))


# --- benchmarks (issue 16) --------------------------------------------------------------------------


def _ratio(value):
    return None if value is None else round(float(value), 6)


def _alerts_body(alerts: dict | None) -> dict | None:
    """A rep's alerts still to work: their count and the money at stake (a decimal string)."""
    if alerts is None:
        return None
    return {"open": alerts["open"], "money_at_stake": money_str(alerts["money_at_stake"])}


def coaching_body(row: dict) -> dict:
    """A rep row (or the median row) as the API answers it: money as decimal strings with two
    decimals, ratios as fractions (0.25 = 25%), counts as numbers (the median's may be halves)."""
    return {
        "rep_id": row["rep_id"],
        "name": row["name"],
        "customers": _number(row["customers"]),
        "core_customers": _number(row["core_customers"]),
        "segments": {
            s: {"customers": _number(v["customers"]), "net_profit": money_str(v["net_profit"])}
            for s, v in row["segments"].items()
        },
        "core_share_customers": _ratio(row["core_share_customers"]),
        "core_share_revenue": _ratio(row["core_share_revenue"]),
        "revenue": money_str(row["revenue"]),
        "gross_margin": money_str(row["gross_margin"]),
        "cost_to_serve": money_str(row["cost_to_serve"]),
        "net_profit": money_str(row["net_profit"]),
        "net_margin_pct": _ratio(row["net_margin_pct"]),
        "cost_to_serve_per_1000": money_str(row["cost_to_serve_per_1000"]),
        "migration": {
            "moved_up": _number(row["moved_up"]),
            "moved_down": _number(row["moved_down"]),
            "into_core": _number(row["into_core"]),
            "out_of_core": _number(row["out_of_core"]),
            "net_profit_into_core": money_str(row["net_profit_into_core"]),
            "net_profit_out_of_core": money_str(row["net_profit_out_of_core"]),
        },
        "core_below_benchmark": _number(row["core_below_benchmark"]),
        "core_below_benchmark_share": _ratio(row["core_below_benchmark_share"]),
        "alerts": _alerts_body(row.get("alerts")),
        "coaching_points": row.get("points", []),
    }


class CoachingRepsApi(TenantApiView):
    """GET: the rep coaching table of the published run (managers: every rep; a rep: their own row
    only) and the team `median` row. `{"run": null, ...}` before a publication."""

    permission = Perm.VIEW_CUSTOMERS

    def get(self, request, *args, **kwargs):
        run = current_run(self.distributor)
        if run is None:
            return Response({"run": None, "reps": [], "median": None, "core_benchmark_categories": None})
        table = rep_table(distributor=self.distributor, run=run, reps=visible_reps(self.distributor, self.membership))
        return Response(
            {
                "run": run.number,
                "as_of": run.as_of,
                "core_benchmark_categories": table["benchmark"],
                "reps": [coaching_body(r) for r in table["rows"]],
                "median": coaching_body(table["median"]),
            }
        )


def _leak_body(row: dict) -> dict:
    return {
        "value": row["value"],
        "buyers": row["buyers"],
        "buyer_share": _ratio(row["buyer_share"]),
        "revenue": money_str(row["revenue"]),
        "prior_revenue": money_str(row["prior_revenue"]),
        "year_ago_revenue": money_str(row["year_ago_revenue"]),
        "change_vs_prior": _ratio(row["change_vs_prior"]),
        "change_vs_year_ago": _ratio(row["change_vs_year_ago"]),
        "stopped": row["stopped"],
        "cut": row["cut"],
        "leaked": money_str(row["leaked"]),
        "top_losers": row["top_losers"],
    }


class LeakageApi(TenantApiView):
    """GET `?dimension=category|brand|supplier` (default category): leakage among the published run's
    core customers, one row per value, most money leaked first; with `&value=`, the core customers
    behind that value instead. 400 naming the dimensions for another."""

    permission = Perm.VIEW_DASHBOARD

    def get(self, request, *args, **kwargs):
        dimension = request.query_params.get("dimension") or "category"
        problem = leakage.unknown_dimension(dimension)
        if problem:
            raise ValidationError({"dimension": [problem]})
        run = current_run(self.distributor)
        if run is None:
            return Response({"run": None, "dimension": dimension, "rows": []})
        body = {"run": run.number, "dimension": dimension, "core_customers": leakage.core_count(self.distributor, run)}
        value = request.query_params.get("value")
        if value is not None:
            rows = leakage.value_customers(distributor=self.distributor, run=run, dimension=dimension, value=value)
            body["value"] = value
            body["customers"] = [
                {**r, **{k: money_str(r[k]) for k in ("revenue", "prior_revenue", "year_ago_revenue", "drop")}}
                for r in rows
            ]
            return Response(body)
        rows = leakage.leakage_rows(distributor=self.distributor, run=run, dimension=dimension)
        body["rows"] = [_leak_body(r) for r in rows]
        return Response(body)


def _history_entry(e: dict) -> dict:
    return {
        "run": e["number"],
        "as_of": e["as_of"],
        "published_at": e["published_at"],
        "customers": e["customers"],
        "segments": {
            s: {
                "customers": v["count"],
                "revenue": money_str(v["revenue"]),
                "net_profit": money_str(v["net_profit"]),
                "revenue_share": _ratio(v["revenue_share"]),
                "net_profit_share": _ratio(v["net_profit_share"]),
            }
            for s, v in e["segments"].items()
        },
        "revenue": money_str(e["revenue"]),
        "net_profit": money_str(e["net_profit"]),
        "whale_peak": money_str(e["whale_peak"]),
        "core_retention": _ratio(e["core_retention"]),
        "settings_changes": [{"setting": a, "before": b, "after": c} for a, b, c in e["settings_changes"]],
    }


class HistoryApi(TenantApiView):
    """GET: per published run (oldest first) the segment figures, whale peak, core retention and
    settings changes, and the migration matrix between two runs (`?from=&to=`, run numbers; default
    the last two). `?slice_by=branch|customer_class|region|rep&slice=<value>` recomputes them for a
    slice; an unknown dimension, value or run number is a 400 naming the allowed ones."""

    permission = Perm.VIEW_DASHBOARD

    def get(self, request, *args, **kwargs):
        runs = history.published_run_list(self.distributor)
        stamp = assignment_stamp(self.distributor)
        cut = Slice()
        if runs:
            try:
                cut = parse_slice(request.query_params, slice_choices(self.distributor, runs[-1], stamp))
            except SliceError as error:
                raise ValidationError({"slice": [str(error)]})
        numbers = {r.number: r for r in runs}
        pair = {}
        for key, default in (("from", -2), ("to", -1)):
            raw = request.query_params.get(key)
            if raw:
                try:
                    pair[key] = numbers[int(raw)]
                except (KeyError, ValueError):
                    allowed = ", ".join(str(n) for n in numbers)
                    raise ValidationError({key: [f"Unknown run {raw!r}: use one of the published runs {allowed}."]})
            elif len(runs) >= 2:
                pair[key] = runs[default]
        data = history.history(distributor=self.distributor, runs=runs, stamp=stamp, cut=cut)
        body = {
            "slice": {"by": cut.by, "value": cut.value} if cut.active else None,
            "runs": [_history_entry(e) for e in data["runs"]],
            "migration": None,
            "note": "Trends need two published runs." if len(runs) < 2 else None,
        }
        if len(pair) == 2:
            matrix = history.migration_between_runs(
                distributor=self.distributor, before=pair["from"], after=pair["to"], stamp=stamp, cut=cut
            )
            body["migration"] = {
                "from": pair["from"].number,
                "to": pair["to"].number,
                "cells": [{"from": f, "to": t, "customers": n} for (f, t), n in sorted(matrix["counts"].items())],
            }
        return Response(body)


class CustomerGapsApi(TenantApiView):
    """GET: the category gap analysis of a customer the caller may see (reps: assigned customers):
    its peers (core customers of its class, or all core customers when the class has fewer than
    10) and every category by money at stake. 404 for a customer of another tenant or not visible."""

    permission = Perm.VIEW_CUSTOMERS
    lookups = (CUSTOMER,)

    def get(self, request, *args, **kwargs):
        run = current_run(self.distributor)
        if run is None:
            return Response({"run": None, "categories": []})
        data = gaps.gap_rows(distributor=self.distributor, run=run, customer=self.customer)
        return Response(
            {
                "run": run.number,
                "customer_id": self.customer.customer_id,
                "peers": {"scope": data["scope"], "customers": data["peers"], "customer_class": data["customer_class"]},
                "at_stake": money_str(data["at_stake"]),
                "categories": [
                    {
                        "category": r["category"],
                        "revenue": money_str(r["revenue"]),
                        "share_pct": r["share"],
                        "core_share_pct": r["core_share"],
                        "gap_pts": r["gap"],
                        "expected": money_str(r["expected"]),
                        "at_stake": money_str(r["at_stake"]),
                    }
                    for r in data["rows"]
                ],
            }
        )


class ChannelMapApi(TenantApiView):
    """GET: the supply chain and distribution channel map of the published run's window (issue 14;
    docs/API.md): `?by=customer_class|supply_chain_role&weight=revenue|net_profit|lines|customers`,
    `limit` (nodes kept per column, 1-100, default 12; the rest grouped as "other") and the filters
    `branch`, `segment`, `customer_class`. 400 naming the allowed values; 404 before a published run.
    Managers and reps (the figures are the tenant's; a rep's clicks lead to their own customers)."""

    permission = Perm.VIEW_CUSTOMERS

    def get(self, request, *args, **kwargs):
        try:
            params = channel_map.parse_params(request.query_params)
        except channel_map.BadInput as problem:
            return Response({"detail": str(problem)}, status=status.HTTP_400_BAD_REQUEST)
        run, _ = published_runs(distributor=self.distributor)
        if run is None:
            raise Http404("No published run yet: run and publish a stratification first.")
        result = channel_map.channel_map(distributor=self.distributor, run=run, **params)
        return Response(channel_map.api_body(result, tenant_slug=self.distributor.slug, role=self.membership.role))


def _definition_body(row: dict) -> dict:
    """A customer category's definition as the API answers it (money as decimal strings)."""
    body = dict(row)
    for name in ("revenue", "net_profit", "order_size"):
        if name in body:
            body[name] = money_str(body[name])
    if "placement" in body:
        body["placement"] = {"by": body["placement"]["by"], "counts": dict(body["placement"]["counts"])}
    if "reasons" in body:
        body["reasons"] = dict(body["reasons"])
    return body


class CustomerDefinitionsApi(TenantApiView):
    """GET: every customer category side by side (`?by=customer_class|supply_chain_role`), with the
    core median cost-to-serve per 1,000 of revenue by activity. 400 for an unknown `by`; 404 before a
    published run. Managers and reps."""

    permission = Perm.VIEW_CUSTOMERS

    def get(self, request, *args, **kwargs):
        by = request.query_params.get("by") or "customer_class"
        problem = definitions.unknown_by(by)
        if problem:
            return Response({"detail": problem}, status=status.HTTP_400_BAD_REQUEST)
        run, _ = published_runs(distributor=self.distributor)
        if run is None:
            raise Http404("No published run yet: run and publish a stratification first.")
        data = definitions.overview(distributor=self.distributor, run=run, by=by)
        return Response(
            {
                "run": run.number,
                "by": by,
                "core_median": data["core_median"],
                "rows": [_definition_body(r) for r in data["rows"]],
            }
        )


class CustomerDefinitionApi(TenantApiView):
    """GET: one customer category's definition (`value` "(none)": the empty one). 404 for an unknown
    `by`, a category without active customers, or before a published run."""

    permission = Perm.VIEW_CUSTOMERS

    @extend_schema(operation_id="tenants_customer_definition_detail")
    def get(self, request, *args, by, value, **kwargs):
        if definitions.unknown_by(by):
            raise Http404(definitions.unknown_by(by))
        run, _ = published_runs(distributor=self.distributor)
        if run is None:
            raise Http404("No published run yet: run and publish a stratification first.")
        data = definitions.definition(
            distributor=self.distributor, run=run, by=by, value="" if value == "(none)" else value
        )
        if data is None:
            raise Http404("No active customer of the published run is in this category.")
        return Response({"run": run.number, **_definition_body(data)})
