"""Pages of sales records: the rep's "my customers" table (with exports), the customer page and its
printable account review, and the manager's rep assignment."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from segments import dashboard as pages
from segments.policies import next_tier, policy_for_segment, policy_list
from stratify.tenancy.permissions import Perm, Role, role_has
from stratify.tenancy.views import TenantViewMixin

from .filters import MyCustomersFilter
from .models import Customer
from .selectors import customer_get, customer_list, rep_list
from .tables import EXPORT_COLUMNS, MyCustomersTable, export_response

EXPORT_FORMATS = ("csv", "xlsx")


class MyCustomersView(TenantViewMixin, TemplateView):
    """A rep's assigned customers (a manager: all), core first, with filters, search and exports
    (`?export=csv|xlsx` exports every row the filter keeps, not only the page)."""

    permission = Perm.VIEW_CUSTOMERS
    template_name = "sales/my_customers.html"

    def get(self, request, *args, **kwargs):
        self.run, self.previous_run = pages.published_runs(distributor=self.distributor)
        rows = pages.customer_rows(distributor=self.distributor, membership=self.membership, run=self.run)
        self.filterset = MyCustomersFilter(request.GET or None, queryset=rows, request=request)
        self.rows = self.filterset.qs if self.filterset.is_bound else rows
        if self.filterset.is_bound and not self.filterset.is_valid():
            self.rows = rows.none()
        fmt = request.GET.get("export")
        if fmt in EXPORT_FORMATS:
            return self.export(fmt)
        return super().get(request, *args, **kwargs)

    def export(self, fmt: str):
        fields = [f for _, f in EXPORT_COLUMNS]
        values = self.rows.values_list(*fields)

        def rows():
            for row in values.iterator(chunk_size=2000):
                record = dict(zip(fields, row, strict=True))
                movement = pages.movement_of(record["segment"], record["previous_segment"])
                reasons = pages.attention_reasons(type("Row", (), record))
                yield [*row, movement, "; ".join(reasons)]

        headers = [h for h, _ in EXPORT_COLUMNS] + ["Movement", "Attention"]
        return export_response(headers=headers, rows=rows(), fmt=fmt, filename=f"{self.distributor.slug}-customers")

    def get_context_data(self, **kwargs):
        table = MyCustomersTable(
            self.rows, tenant_slug=self.distributor.slug, show_rep=self.membership.role == Role.MANAGER
        )
        RequestConfig(self.request, paginate={"per_page": 25}).configure(table)
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("export", None)
        form = self.filterset.form
        # The selects are written out in the template: Django's template-based widget rendering was a
        # tenth of this page's time.
        selects = [
            (name, form.fields[name].label or name.title(), list(form.fields[name].choices), form[name].value() or "")
            for name in ("segment", "branch", "customer_class", "movement")
        ]
        return super().get_context_data(
            table=table,
            filter=self.filterset,
            selects=selects,
            run=self.run,
            query=query.urlencode(),
            **kwargs,
        )


class CustomerMixin(TenantViewMixin):
    """Resolves `customer_id` through `customer_get`: a customer the caller may not see is a 404,
    exactly like a missing one."""

    def dispatch(self, request, *args, **kwargs):
        self.customer_code = kwargs.pop("customer_id")
        return super().dispatch(request, *args, **kwargs)

    def get_customer(self) -> Customer:
        try:
            return customer_get(
                distributor=self.distributor, membership=self.membership, customer_id=self.customer_code
            )
        except Customer.DoesNotExist:
            raise Http404("No such customer.")


def customer_page_context(*, distributor, membership, customer, interactions_limit: int = 20) -> dict:
    """Everything the customer page and the account review show; a fixed number of queries."""
    from channels.forms import InteractionForm
    from channels.selectors import interaction_list

    run, _previous = pages.published_runs(distributor=distributor)
    score = pages.score_for(distributor=distributor, run=run, customer=customer)
    policies = policy_list(distributor=distributor)
    segment = score.segment if score else None
    policy = policy_for_segment(policies, segment)
    trend = pages.monthly_trend(distributor=distributor, customer=customer, as_of=run.as_of if run else None)
    interactions = list(
        interaction_list(distributor=distributor, membership=membership, customer=customer).select_related(
            "rep", "created_by"
        )[:interactions_limit]
    )
    return {
        "customer": customer,
        "run": run,
        "score": score,
        "segment": segment,
        "segment_label": pages.SEGMENT_LABELS.get(segment, ""),
        "movement": pages.movement_of(segment, score.previous_segment if score else None),
        "previous_label": pages.SEGMENT_LABELS.get(score.previous_segment, "") if score else "",
        "reasons": pages.explain(score.explanation if score else None),
        "attention": pages.attention_reasons(score) if score else [],
        "trend": trend,
        "trend_json": json.dumps(trend),
        "mix": pages.category_mix(distributor=distributor, run=run, customer=customer) if run else [],
        "policy": policy,
        "next_policy": next_tier(policies, policy, segment=segment),
        "interactions": interactions,
        "interaction_form": InteractionForm() if role_has(membership.role, Perm.LOG_INTERACTIONS) else None,
    }


class CustomerDetailView(CustomerMixin, TemplateView):
    permission = Perm.VIEW_CUSTOMERS
    template_name = "sales/customer_detail.html"

    def get_context_data(self, **kwargs):
        context = customer_page_context(
            distributor=self.distributor, membership=self.membership, customer=self.get_customer()
        )
        return super().get_context_data(**context, **kwargs)


class CustomerReviewView(CustomerDetailView):
    """The printable account review: the same facts, laid out for paper."""

    template_name = "sales/customer_review.html"


class RepAssignmentView(TenantViewMixin, TemplateView):
    """Managers: which rep owns which customers; reassign one or many at once."""

    permission = {"GET": Perm.MANAGE_USERS, "POST": Perm.MANAGE_USERS}
    template_name = "sales/rep_assignment.html"
    per_page = 50

    def get_context_data(self, **kwargs):
        reps = list(rep_list(distributor=self.distributor))
        customers = customer_list(distributor=self.distributor).select_related("rep").order_by("customer_id")
        q = self.request.GET.get("q", "").strip()
        rep_filter = self.request.GET.get("rep", "")
        if q:
            from django.db.models import Q

            customers = customers.filter(Q(name__icontains=q) | Q(customer_id__icontains=q))
        if rep_filter == "none":
            customers = customers.filter(rep__isnull=True)
        elif rep_filter:
            customers = customers.filter(rep__rep_id=rep_filter)
        page = Paginator(customers, self.per_page).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            reps=reps, page=page, q=q, rep_filter=rep_filter, query=query.urlencode(), **kwargs
        )

    def post(self, request, *args, **kwargs):
        codes = request.POST.getlist("customers")
        rep_code = request.POST.get("rep", "")
        errors = {}
        if not codes:
            errors["customers"] = "Select at least one customer."
        rep = None
        if rep_code and rep_code != "none":
            rep = rep_list(distributor=self.distributor).filter(rep_id=rep_code).first()
            if rep is None:
                errors["rep"] = "Choose a rep of this distributor."
        elif not rep_code:
            errors["rep"] = "Choose a rep (or 'Unassigned')."
        if errors:
            context = self.get_context_data(errors=errors, selected=codes)
            return self.render_to_response(context, status=400)
        with transaction.atomic():
            # Only this tenant's customers can match: the filter names the distributor.
            updated = customer_list(distributor=self.distributor).filter(customer_id__in=codes).update(rep=rep)
        messages.success(request, f"{updated} customer{'s' if updated != 1 else ''} assigned to {rep or 'nobody'}.")
        return redirect(f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path)
