"""FilterSets. django-filter inspects querysets when a FilterSet class is built, at import time and
outside any tenant scope: the classes are built with scoping disabled (no query runs then)."""

import django_filters
from django.db.models import Q
from django_scopes import scopes_disabled

from .models import Customer, Product, Rep

with scopes_disabled():

    class CustomerFilter(django_filters.FilterSet):
        q = django_filters.CharFilter(method="search", label="Search name or account")
        rep = django_filters.CharFilter(field_name="rep__rep_id", label="Rep code")

        class Meta:
            model = Customer
            fields = ["customer_class", "supply_chain_role", "branch", "region", "industry"]

        def search(self, queryset, name, value):
            return queryset.filter(Q(name__icontains=value) | Q(customer_id__icontains=value))

    class ProductFilter(django_filters.FilterSet):
        class Meta:
            model = Product
            fields = ["category", "brand", "supplier_id", "is_stock"]

    class RepFilter(django_filters.FilterSet):
        class Meta:
            model = Rep
            fields = ["branch"]
