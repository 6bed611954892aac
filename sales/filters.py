"""FilterSets. django-filter inspects querysets when a FilterSet class is built, at import time and
outside any tenant scope: the classes are built with scoping disabled (no query runs then)."""

import django_filters
from django.core.cache import cache
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


CHOICES_SECONDS = 300


def customer_field_choices(field: str):
    """Distinct values of a customer field in the current tenant (called per request, inside its scope)."""

    def choices(request=None):
        distributor = getattr(request, "distributor", None) if request is not None else None
        if distributor is None:
            return []
        # A DISTINCT over every customer of the tenant on each visit is the table's costliest query at
        # 50,000 customers; the values change only with imports, so a few minutes' cache is fine.
        key = f"stratify:choices:{distributor.pk}:{field}"
        values = cache.get(key)
        if values is None:
            values = list(
                Customer.objects.filter(distributor=distributor)
                .exclude(**{field: ""})
                .values_list(field, flat=True)
                .distinct()
                .order_by(field)
            )
            cache.set(key, values, CHOICES_SECONDS)
        return [(v, v) for v in values]

    return choices


with scopes_disabled():

    class RepAssignmentFilter(django_filters.FilterSet):
        """Rep assignment: search by name or account, and by current rep ("none": unassigned)."""

        q = django_filters.CharFilter(method="search", label="Search")
        rep = django_filters.CharFilter(method="by_rep", label="Current rep")

        class Meta:
            model = Customer
            fields = []

        def search(self, queryset, name, value):
            value = value.strip()
            return queryset.filter(Q(name__icontains=value) | Q(customer_id__icontains=value)) if value else queryset

        def by_rep(self, queryset, name, value):
            return queryset.filter(rep__isnull=True) if value == "none" else queryset.filter(rep__rep_id=value)
