"""The my-customers FilterSet (see sales.filters for why FilterSets of models are built unscoped;
this one declares no model, so building it queries nothing)."""

import django_filters
from django.db.models import Q

from sales.filters import customer_field_choices
from segments.profit_centers import NONE
from segments.selectors import profit_value_customers, published_runs
from segments.vocabulary import MOVEMENT_CHOICES, SEGMENT_LABELS, SEGMENT_ORDER, movement_q

from .attention import attention_q


class MyCustomersFilter(django_filters.FilterSet):
    """Filters of the my-customers table. Runs on `insights.customers.customer_rows`, whose rows carry
    the current run's segment, previous segment and factors as annotations."""

    q = django_filters.CharFilter(method="search", label="Search")
    segment = django_filters.ChoiceFilter(
        field_name="segment",
        choices=[(s, SEGMENT_LABELS[s]) for s in SEGMENT_ORDER],
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
    # A profit center's drill-down: `?dimension=category&value=Pipe` (value "(none)": the empty one).
    dimension = django_filters.CharFilter(method="by_profit_value", label="Dimension")
    value = django_filters.CharFilter(method="by_profit_value", label="Value")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        # Branch and class choices are the tenant's own values, read when the form is built.
        self.filters["branch"].extra["choices"] = customer_field_choices("branch")(request)
        self.filters["customer_class"].extra["choices"] = customer_field_choices("customer_class")(request)

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(customer_id__icontains=value))

    def by_movement(self, queryset, name, value):
        return queryset.filter(movement_q(value))

    def by_previous(self, queryset, name, value):
        if value == "new":
            return queryset.filter(Q(previous_segment="") | Q(previous_segment__isnull=True), segment__isnull=False)
        return queryset.filter(previous_segment=value)

    def by_attention(self, queryset, name, value):
        return queryset.filter(attention_q()) if value else queryset.exclude(attention_q())

    def by_profit_value(self, queryset, name, value):
        data = self.form.cleaned_data
        if name != "dimension" or not data.get("dimension"):
            return queryset
        distributor = getattr(self.request, "distributor", None)
        run, _ = published_runs(distributor=distributor)
        shown = data.get("value") or ""
        customers = profit_value_customers(
            distributor=distributor, run=run, dimension=data["dimension"], value="" if shown == NONE else shown
        )
        return queryset.none() if customers is None else queryset.filter(pk__in=customers)

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")
        return form
