from django import forms
from django.contrib.auth.forms import UserCreationForm

from sales.models import Customer, Rep
from stratify.tenancy.permissions import Role

from .models import Membership, User


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Membership.ROLE_CHOICES)
    rep = forms.ModelChoiceField(queryset=Rep.objects.none(), required=False, help_text="For a sales rep")
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, help_text="For a customer contact"
    )

    def __init__(self, *args, distributor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = Rep.objects.filter(distributor=distributor)
        self.fields["customer"].queryset = Customer.objects.filter(distributor=distributor).order_by("customer_id")

    def clean(self):
        data = super().clean()
        if data.get("role") == Role.REP and not data.get("rep"):
            self.add_error("rep", "Choose the rep code this person sells under.")
        if data.get("role") == Role.CUSTOMER and not data.get("customer"):
            self.add_error("customer", "Choose the customer account this person belongs to.")
        return data


class MembershipRoleForm(InvitationForm):
    email = None


class SignupForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email")
