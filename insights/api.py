"""API of the read side: the customer scorecard (a customer user's own; staff "view as customer"
for a customer they may see)."""

from decimal import Decimal

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from sales.lookups import CUSTOMER
from sales.selectors import customer_list
from segments.selectors import published_runs
from stratify.formatting import money_str
from stratify.tenancy.api import TenantApiView
from stratify.tenancy.permissions import Perm, Role

from . import channel_map, definitions
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
