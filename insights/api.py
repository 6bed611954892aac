"""API of the read side: the customer scorecard (a customer user's own; staff "view as customer"
for a customer they may see)."""

from django.http import Http404
from rest_framework.response import Response

from sales.lookups import CUSTOMER
from sales.selectors import customer_list
from stratify.formatting import money_str
from stratify.tenancy.api import TenantApiView
from stratify.tenancy.permissions import Perm, Role

from .scorecard import scorecard_data


def scorecard_body(card: dict) -> dict:
    """The scorecard as the API answers it: every amount (12-month purchases, money targets, monthly
    purchases) a decimal string with two decimals."""
    if not card.get("available"):
        return card
    body = dict(card)
    figures = dict(card["figures"])
    figures["purchases"] = money_str(figures.get("purchases"))
    body["figures"] = figures
    body["progress"] = [
        {**row, "actual": money_str(row["actual"]), "target": money_str(row["target"])} if row.get("money") else row
        for row in card["progress"]
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
