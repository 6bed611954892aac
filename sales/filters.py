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
MOVEMENT_CHOICES = [("up", "Moved up"), ("down", "Moved down"), ("same", "Unchanged"), ("new", "New")]


def _choices_of(field: str):
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


class MyCustomersFilter(django_filters.FilterSet):
    """Filters of the my-customers table. Runs on `segments.dashboard.customer_rows`, whose rows carry
    the current run's segment, previous segment and factors as annotations."""

    q = django_filters.CharFilter(method="search", label="Search")
    segment = django_filters.ChoiceFilter(
        field_name="segment",
        choices=[
            ("core", "Core"),
            ("opportunistic", "Opportunistic"),
            ("service_drain", "Service drain"),
            ("marginal", "Marginal"),
            ("lapsed", "Lapsed"),
        ],
        empty_label="Any segment",
        label="Segment",
    )
    branch = django_filters.ChoiceFilter(choices=[], empty_label="Any branch", label="Branch")
    customer_class = django_filters.ChoiceFilter(choices=[], empty_label="Any class", label="Class")
    movement = django_filters.ChoiceFilter(
        choices=MOVEMENT_CHOICES, method="by_movement", empty_label="Any movement", label="Movement"
    )
    previous = django_filters.CharFilter(method="by_previous", label="Previous segment")
    attention = django_filters.BooleanFilter(method="by_attention", label="Needs attention")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        # Branch and class choices are the tenant's own values, read when the form is built.
        self.filters["branch"].extra["choices"] = _choices_of("branch")(request)
        self.filters["customer_class"].extra["choices"] = _choices_of("customer_class")(request)

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(customer_id__icontains=value))

    def by_movement(self, queryset, name, value):
        from segments.dashboard import movement_q

        return queryset.filter(movement_q(value))

    def by_previous(self, queryset, name, value):
        if value == "new":
            return queryset.filter(Q(previous_segment="") | Q(previous_segment__isnull=True), segment__isnull=False)
        return queryset.filter(previous_segment=value)

    def by_attention(self, queryset, name, value):
        from segments.dashboard import attention_q

        return queryset.filter(attention_q()) if value else queryset.exclude(attention_q())

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")
        return form
