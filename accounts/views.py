"""Landing pages, the tenant switcher, members and invitations."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView
from django_scopes import scopes_disabled

from stratify.tenancy.permissions import Perm, Role
from stratify.tenancy.resolve import memberships_of
from stratify.tenancy.views import TenantViewMixin

from . import services
from .forms import InvitationForm, MembershipRoleForm, SignupForm
from .lookups import MEMBER
from .models import Invitation, Membership

LANDING_BY_ROLE = {Role.MANAGER: "dashboard", Role.REP: "my-customers", Role.CUSTOMER: "scorecard"}


def landing_url(membership: Membership) -> str:
    return reverse(LANDING_BY_ROLE[membership.role], kwargs={"tenant": membership.distributor.slug})


@login_required
def home(request):
    """After login: straight to the only tenant's landing page, or a choice when there are several."""
    memberships = memberships_of(request.user)
    if len(memberships) == 1:
        return redirect(landing_url(memberships[0]))
    return render(request, "accounts/choose_tenant.html", {"choices": [(m, landing_url(m)) for m in memberships]})


class TenantHomeView(TenantViewMixin, View):
    """`/<tenant>/`: the landing page of the caller's role."""

    def get(self, request):
        return redirect(landing_url(self.membership))


class MembersView(TenantViewMixin, TemplateView):
    permission = {"GET": Perm.MANAGE_USERS, "POST": Perm.MANAGE_USERS}
    template_name = "accounts/members.html"

    def get_context_data(self, form=None, **kwargs):
        return super().get_context_data(
            members=Membership.objects.filter(distributor=self.distributor).select_related("user", "rep", "customer"),
            invitations=Invitation.objects.filter(distributor=self.distributor, accepted_at=None),
            form=form or InvitationForm(distributor=self.distributor),
            **kwargs,
        )

    def post(self, request):
        form = InvitationForm(request.POST, distributor=self.distributor)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        services.invitation_create(
            distributor=self.distributor, actor=request.user, request=request, **form.cleaned_data
        )
        messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
        return redirect("members", tenant=self.distributor.slug)


class MemberRoleView(TenantViewMixin, TemplateView):
    permission = {"GET": Perm.MANAGE_USERS, "POST": Perm.MANAGE_USERS}
    template_name = "accounts/member_role.html"
    lookups = (MEMBER,)

    def get(self, request):
        initial = {"role": self.member.role, "rep": self.member.rep, "customer": self.member.customer}
        form = MembershipRoleForm(initial=initial, distributor=self.distributor)
        return self.render_to_response({"form": form, "member": self.member})

    def post(self, request):
        form = MembershipRoleForm(request.POST, distributor=self.distributor)
        if not form.is_valid():
            return self.render_to_response({"form": form, "member": self.member}, status=400)
        try:
            services.membership_set_role(membership=self.member, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.render_to_response({"form": form, "member": self.member}, status=400)
        messages.success(request, f"{self.member.user} is now {self.member.get_role_display()}.")
        return redirect("members", tenant=self.distributor.slug)


def invitation_accept(request, token: str):
    """Anyone with the link: sign up (or use the account they are logged in with) and join."""
    with scopes_disabled():
        invitation = get_object_or_404(Invitation.objects.select_related("distributor"), token=token)
    if not invitation.is_open:
        return render(request, "accounts/invitation_closed.html", status=410)
    form = SignupForm(request.POST or None, initial={"email": invitation.email})
    if request.method == "POST" and (request.user.is_authenticated or form.is_valid()):
        try:
            membership = services.invitation_sign_up_and_accept(
                invitation=invitation,
                user=request.user if request.user.is_authenticated else None,
                signup_form=form,
            )
        except services.AlreadyMember as refusal:
            context = {"invitation": invitation, "form": form, "refusal": refusal.messages[0]}
            return render(request, "accounts/invitation_accept.html", context, status=409)
        except ValidationError:
            return render(request, "accounts/invitation_closed.html", status=410)
        if not request.user.is_authenticated:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(landing_url(membership))
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation, "form": form})
