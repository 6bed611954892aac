from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.validators import MaxLengthValidator

from sales.models import Customer, Rep
from stratify.tenancy.permissions import Role

from .models import Membership, User

USERNAME_MAX_LENGTH = 150  # User.username's own limit; django-axes stores a failed one in 255 characters


class LoginForm(AuthenticationForm):
    """Django's login form with the username's length enforced: AuthenticationForm only sets the
    widget's maxlength, so a longer name reached the backends and django-axes' 255-character column
    (a 500 on PostgreSQL). Now it is a field error and nothing is authenticated or recorded."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.max_length = USERNAME_MAX_LENGTH
        field.widget.attrs["maxlength"] = str(USERNAME_MAX_LENGTH)
        field.validators.append(MaxLengthValidator(USERNAME_MAX_LENGTH))


def bootstrap(form: forms.Form) -> None:
    """The classes every form of the project's pages has (Bootstrap's form-control / form-select)."""
    for field in form.fields.values():
        widget = field.widget
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class InvitationForm(forms.Form):
    """A manager's invitation (and, without the e-mail, a member's role): most people invited are
    sales reps, so the role starts there."""

    email = forms.EmailField(max_length=254)  # the column's length (a longer one: a form error, not a 500)
    role = forms.ChoiceField(choices=Membership.ROLE_CHOICES, initial=Role.REP)
    rep = forms.ModelChoiceField(queryset=Rep.objects.none(), required=False, help_text="For a sales rep")
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, help_text="For a customer contact"
    )

    def __init__(self, *args, distributor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = Rep.objects.filter(distributor=distributor)
        self.fields["customer"].queryset = Customer.objects.filter(distributor=distributor).order_by("customer_id")
        bootstrap(self)

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
