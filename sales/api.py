from rest_framework import serializers

from stratify.tenancy.api import MoneyField, TenantListApi, TenantRetrieveApi
from stratify.tenancy.permissions import Perm

from .filters import CustomerFilter, ProductFilter, RepFilter
from .models import Customer, Product, Rep
from .selectors import customer_list, product_list, rep_list


class RepSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rep
        fields = ["rep_id", "name", "email", "branch"]


class CustomerSerializer(serializers.ModelSerializer):
    rep_id = serializers.CharField(source="rep.rep_id", default=None, read_only=True)
    potential_annual_spend = MoneyField(allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "customer_id",
            "name",
            "customer_class",
            "supply_chain_role",
            "industry",
            "branch",
            "region",
            "rep_id",
            "preferred_ship_method",
            "potential_annual_spend",
            "reasons_for_purchase",
            "credit_terms_days",
            "parent_customer_id",
        ]


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["product_id", "name", "category", "brand", "supplier_id", "is_stock", "replacement_cycle_days"]


class CustomerListApi(TenantListApi):
    permission = Perm.VIEW_CUSTOMERS
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter

    def get_queryset(self):
        return customer_list(distributor=self.distributor, membership=self.membership).select_related("rep")


class CustomerDetailApi(TenantRetrieveApi):
    permission = Perm.VIEW_CUSTOMERS
    serializer_class = CustomerSerializer
    lookup_field = "customer_id"

    def get_queryset(self):
        return customer_list(distributor=self.distributor, membership=self.membership).select_related("rep")


class RepListApi(TenantListApi):
    permission = Perm.VIEW_CATALOG
    serializer_class = RepSerializer
    filterset_class = RepFilter

    def get_queryset(self):
        return rep_list(distributor=self.distributor)


class RepDetailApi(TenantRetrieveApi):
    permission = Perm.VIEW_CATALOG
    serializer_class = RepSerializer
    lookup_field = "rep_id"

    def get_queryset(self):
        return rep_list(distributor=self.distributor)


class ProductListApi(TenantListApi):
    permission = Perm.VIEW_CATALOG
    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    def get_queryset(self):
        return product_list(distributor=self.distributor)


class ProductDetailApi(TenantRetrieveApi):
    permission = Perm.VIEW_CATALOG
    serializer_class = ProductSerializer
    lookup_field = "product_id"

    def get_queryset(self):
        return product_list(distributor=self.distributor)
