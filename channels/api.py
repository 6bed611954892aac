from rest_framework import serializers

from stratify.tenancy.api import TenantListApi, TenantRetrieveApi
from stratify.tenancy.permissions import Perm

from .models import Interaction, Partner
from .selectors import interaction_list, partner_list


class PartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Partner
        fields = ["partner_id", "name", "kind", "region", "supports_customer", "services", "why_customers_use_it"]


class InteractionSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer.customer_id", read_only=True)
    rep_id = serializers.CharField(source="rep.rep_id", default=None, read_only=True)

    class Meta:
        model = Interaction
        fields = ["id", "customer_id", "date", "kind", "rep_id", "channel", "summary", "usage_notes", "opportunity"]


class PartnerListApi(TenantListApi):
    permission = Perm.VIEW_CATALOG
    serializer_class = PartnerSerializer
    filterset_fields = ["kind", "region"]

    def get_queryset(self):
        return partner_list(distributor=self.distributor)


class PartnerDetailApi(TenantRetrieveApi):
    permission = Perm.VIEW_CATALOG
    serializer_class = PartnerSerializer
    lookup_field = "partner_id"

    def get_queryset(self):
        return partner_list(distributor=self.distributor)


class InteractionListApi(TenantListApi):
    permission = Perm.VIEW_CUSTOMERS
    serializer_class = InteractionSerializer
    filterset_fields = {
        "kind": ["exact"],
        "opportunity": ["exact"],
        "date": ["gte", "lte"],
        "customer__customer_id": ["exact"],
    }

    def get_queryset(self):
        return interaction_list(distributor=self.distributor, membership=self.membership).select_related(
            "customer", "rep"
        )


class InteractionDetailApi(TenantRetrieveApi):
    permission = Perm.VIEW_CUSTOMERS
    serializer_class = InteractionSerializer

    def get_queryset(self):
        return interaction_list(distributor=self.distributor, membership=self.membership).select_related(
            "customer", "rep"
        )
