"""Logging an interaction from the customer page (reps and managers, for customers they may see)."""

import uuid

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from sales.views import CustomerMixin, customer_page_context
from stratify.tenancy.permissions import Perm

from .forms import InteractionForm


class InteractionCreateView(CustomerMixin, TemplateView):
    """POST only. On errors the customer page is shown again (400) with the form and its errors."""

    permission = {"POST": Perm.LOG_INTERACTIONS}
    template_name = "sales/customer_detail.html"

    def post(self, request, *args, **kwargs):
        customer = self.get_customer()  # 404 for a customer the caller may not see
        form = InteractionForm(request.POST)
        if not form.is_valid():
            context = customer_page_context(distributor=self.distributor, membership=self.membership, customer=customer)
            context["interaction_form"] = form
            return self.render_to_response(context, status=400)
        interaction = form.save(commit=False)
        interaction.distributor = self.distributor
        interaction.customer = customer
        interaction.rep = self.membership.rep if self.membership.rep_id else customer.rep
        interaction.created_by = request.user
        # Imported rows are keyed by a digest of the row; one logged by hand gets a unique key.
        interaction.natural_key = f"manual-{uuid.uuid4().hex}"
        interaction.save()
        messages.success(request, "Interaction logged.")
        return redirect("customer-detail", tenant=self.distributor.slug, customer_id=customer.customer_id)
