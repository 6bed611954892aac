"""API of the pages: the customer scorecard (a customer user's own; staff "view as customer" for a
customer they may see) and the tier policies (everyone on staff may read; managers write)."""

from django.core.exceptions import ValidationError
from django.http import Http404
from rest_framework import serializers, status
from rest_framework.response import Response

from sales.models import Customer
from sales.selectors import customer_get
from stratify.tenancy.api import TenantApiView
from stratify.tenancy.permissions import Perm, Role

from . import dashboard as pages
from . import policies
from .models import TierPolicy


class TierPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = TierPolicy
        fields = ["segment", *policies.EDITABLE_FIELDS, "updated_at"]
        read_only_fields = ["segment", "updated_at"]


class ScorecardApi(TenantApiView):
    """GET: the calling customer user's scorecard (`available: false` before a published run)."""

    permission = Perm.VIEW_SCORECARD

    def get(self, request, *args, **kwargs):
        if self.membership.role != Role.CUSTOMER or self.membership.customer_id is None:
            raise Http404("Only a customer user has an own scorecard; staff use customers/<id>/scorecard/.")
        customer = Customer.objects.get(distributor=self.distributor, pk=self.membership.customer_id)
        return Response(pages.scorecard_data(distributor=self.distributor, customer=customer))


class CustomerScorecardApi(TenantApiView):
    """GET: the scorecard of a customer the caller may see (reps: assigned customers), as the
    customer sees it. 404 for a customer of another tenant or one not visible."""

    permission = Perm.VIEW_CUSTOMERS

    def get(self, request, *args, customer_id: str, **kwargs):
        try:
            customer = customer_get(distributor=self.distributor, membership=self.membership, customer_id=customer_id)
        except Customer.DoesNotExist:
            raise Http404("No such customer.")
        return Response(pages.scorecard_data(distributor=self.distributor, customer=customer))


class TierPolicyApi(TenantApiView):
    """GET: the four tier policies (top tier first). PUT (managers): a list of
    `{"segment": ..., <fields to change>}`; each is validated against its neighbours and audited; on
    any error nothing is saved and the answer names `segment` and field."""

    permission = {"GET": Perm.VIEW_CUSTOMERS, "PUT": Perm.MANAGE_MODEL}

    def get(self, request, *args, **kwargs):
        data = TierPolicySerializer(policies.policy_list(distributor=self.distributor), many=True).data
        return Response(data)

    def put(self, request, *args, **kwargs):
        from django.db import transaction

        items = request.data if isinstance(request.data, list) else [request.data]
        by_segment = {p.segment: p for p in policies.policy_list(distributor=self.distributor)}
        errors = {}
        with transaction.atomic():
            for item in items:
                if not isinstance(item, dict) or item.get("segment") not in by_segment:
                    errors.setdefault("segment", []).append(f"must be one of {', '.join(by_segment)}")
                    continue
                fields = {k: v for k, v in item.items() if k != "segment"}
                try:
                    policies.policy_update(policy=by_segment[item["segment"]], actor=request.user, data=fields)
                except ValidationError as error:
                    errors[item["segment"]] = error.message_dict
            if errors:
                transaction.set_rollback(True)
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        return self.get(request)
