"""API of the read side: the customer scorecard (a customer user's own; staff "view as customer"
for a customer they may see)."""

from django.http import Http404
from rest_framework.response import Response

from sales.lookups import CUSTOMER
from sales.selectors import customer_list
from stratify.tenancy.api import TenantApiView
from stratify.tenancy.permissions import Perm, Role

from .scorecard import scorecard_data


class ScorecardApi(TenantApiView):
    """GET: the calling customer user's scorecard (`available: false` before a published run)."""

    permission = Perm.VIEW_SCORECARD

    def get(self, request, *args, **kwargs):
        customer = None
        if self.membership.role == Role.CUSTOMER:
            customer = customer_list(distributor=self.distributor, membership=self.membership).first()
        if customer is None:
            raise Http404("Only a customer user has an own scorecard; staff use customers/<id>/scorecard/.")
        return Response(scorecard_data(distributor=self.distributor, customer=customer))


class CustomerScorecardApi(TenantApiView):
    """GET: the scorecard of a customer the caller may see (reps: assigned customers), as the
    customer sees it. 404 for a customer of another tenant or one not visible."""

    permission = Perm.VIEW_CUSTOMERS
    lookups = (CUSTOMER,)

    def get(self, request, *args, **kwargs):
        return Response(scorecard_data(distributor=self.distributor, customer=self.customer))
