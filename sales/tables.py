"""Tables of the sales records' pages (see stratify.tenancy.lists)."""

import django_tables2 as tables

from stratify.tenancy.lists import LeanTable

from .models import Customer


class RepAssignmentTable(LeanTable):
    """Which rep owns which customer. The page draws its rows with a checkbox each (it is a form);
    the table sorts, pages and exports them."""

    customer_id = tables.Column(verbose_name="Account")
    name = tables.Column(verbose_name="Customer")
    branch = tables.Column(verbose_name="Branch")
    rep = tables.Column(verbose_name="Rep", accessor="rep__rep_id", default="")

    class Meta(LeanTable.Meta):
        model = Customer
        fields = ()
        order_by = ("customer_id",)
        empty_text = "No customers match."
