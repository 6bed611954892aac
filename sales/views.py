"""Pages of sales records. `MyCustomersView` is the rep's landing page."""

from django.views.generic import TemplateView

from stratify.tenancy.permissions import Perm
from stratify.tenancy.views import TenantViewMixin

from .selectors import customer_list


class MyCustomersView(TenantViewMixin, TemplateView):
    permission = Perm.VIEW_CUSTOMERS
    template_name = "sales/my_customers.html"

    def get_context_data(self, **kwargs):
        customers = customer_list(distributor=self.distributor, membership=self.membership)
        return super().get_context_data(customers=customers.select_related("rep")[:100], **kwargs)
