"""Pages of the sales records: the manager's rep assignment. (The customer pages are the read side's:
see `insights`.)"""

from django.contrib import messages
from django.shortcuts import redirect

from stratify.tenancy.lists import TenantListView
from stratify.tenancy.permissions import Perm

from .filters import RepAssignmentFilter
from .selectors import customer_list, rep_list
from .services import customers_assign_rep
from .tables import RepAssignmentTable


class RepAssignmentView(TenantListView):
    """Managers: which rep owns which customers; reassign one or many at once."""

    permission = {"GET": Perm.MANAGE_USERS, "POST": Perm.MANAGE_USERS}
    template_name = "sales/rep_assignment.html"
    table_class = RepAssignmentTable
    filterset_class = RepAssignmentFilter
    per_page = 50
    export_name = "rep-assignment"

    def get_queryset(self):
        return customer_list(distributor=self.distributor).select_related("rep").order_by("customer_id")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            reps=list(rep_list(distributor=self.distributor)),
            q=self.request.GET.get("q", "").strip(),
            rep_filter=self.request.GET.get("rep", ""),
            **kwargs,
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
            self.prepare_rows()
            context = self.get_context_data(errors=errors, selected=codes)
            return self.render_to_response(context, status=400)
        updated = customers_assign_rep(distributor=self.distributor, customer_ids=codes, rep=rep)
        messages.success(request, f"{updated} customer{'s' if updated != 1 else ''} assigned to {rep or 'nobody'}.")
        return redirect(f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path)
