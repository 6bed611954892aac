import django_filters
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


class InteractionApiFilter(django_filters.FilterSet):
    """The filters of the interactions API, declared (a relation in Meta.fields is resolved through the
    tenant-scoped manager when the class is built, outside any tenant). `customer_id` as the body and
    the alerts' filter name it; `customer__customer_id` still works."""

    kind = django_filters.ChoiceFilter(choices=Interaction.Kind.choices)
    opportunity = django_filters.BooleanFilter()
    date__gte = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date__lte = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    customer_id = django_filters.CharFilter(field_name="customer__customer_id")
    customer__customer_id = django_filters.CharFilter(field_name="customer__customer_id")

    class Meta:
        model = Interaction
        fields = []


class InteractionListApi(TenantListApi):
    permission = Perm.VIEW_CUSTOMERS
    serializer_class = InteractionSerializer
    filterset_class = InteractionApiFilter

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
