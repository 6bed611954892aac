"""Writes for tenants, users, memberships and invitations."""

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scope

from sales.models import Customer, Rep
from stratify.formatting import format_date
from stratify.tenancy.permissions import Role

from .models import Distributor, Invitation, Membership, User

RESERVED_SLUGS = frozenset({"accounts", "admin", "api", "static", "media", "favicon.ico", "health"})


def tenant_create(*, slug: str, name: str, currency: str = "USD", locale: str = "en_US") -> Distributor:
    if slug != slugify(slug) or not slug:
        raise ValidationError({"slug": f"{slug!r} is not a valid slug (lowercase letters, digits, hyphens)."})
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": f"{slug!r} is reserved."})
    if Distributor.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A distributor with slug {slug!r} already exists."})
    distributor = Distributor(slug=slug, name=name, currency=currency.upper(), locale=locale)
    distributor.full_clean(exclude=["slug"])
    distributor.save()
    return distributor


def _link_for_role(*, distributor: Distributor, role: str, rep_id: str | None, customer_id: str | None):
    """The rep or customer record a membership links to; reps are created from their code on demand
    (a rep may log in before any invoice names them), customers must exist."""
    if role not in {r.value for r in Role}:
        raise ValidationError({"role": f"Unknown role {role!r}; choose manager, rep or customer."})
    rep = customer = None
    if role == Role.REP:
        if not rep_id:
            raise ValidationError({"rep_id": "A rep needs --rep-id (the rep code used in invoice data)."})
        rep, _ = Rep.objects.get_or_create(distributor=distributor, rep_id=rep_id)
    if role == Role.CUSTOMER:
        if not customer_id:
            raise ValidationError({"customer_id": "A customer user needs --customer-id (the account number)."})
        customer = Customer.objects.filter(distributor=distributor, customer_id=customer_id).first()
        if customer is None:
            customer = Customer.objects.create(distributor=distributor, customer_id=customer_id, name=customer_id)
    return rep, customer


@transaction.atomic
def membership_grant(
    *, distributor: Distributor, user: User, role: str, rep_id: str | None = None, customer_id: str | None = None
) -> Membership:
    with scope(distributor=distributor):
        rep, customer = _link_for_role(distributor=distributor, role=role, rep_id=rep_id, customer_id=customer_id)
        membership, _ = Membership.objects.update_or_create(
            distributor=distributor, user=user, defaults={"role": role, "rep": rep, "customer": customer}
        )
        return membership


@transaction.atomic
def user_create(
    *,
    distributor: Distributor,
    username: str,
    password: str,
    role: str,
    email: str = "",
    rep_id: str | None = None,
    customer_id: str | None = None,
) -> User:
    """Create the user (or reuse it: a user may belong to several distributors) and grant the role."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, email=email)
        user.set_password(password)
        user.save()
    membership_grant(distributor=distributor, user=user, role=role, rep_id=rep_id, customer_id=customer_id)
    return user


def invitation_create(
    *, distributor: Distributor, actor: User, email: str, role: str, rep=None, customer=None, request=None
) -> Invitation:
    if role == Role.REP and rep is None:
        raise ValidationError({"rep": "Choose the rep code this person sells under."})
    if role == Role.CUSTOMER and customer is None:
        raise ValidationError({"customer": "Choose the customer account this person belongs to."})
    invitation = Invitation.objects.create(
        distributor=distributor, email=email, role=role, rep=rep, customer=customer, invited_by=actor
    )
    path = reverse("invitation-accept", kwargs={"token": invitation.token})
    link = request.build_absolute_uri(path) if request else path
    send_mail(
        subject=f"You are invited to {distributor.name} on Stratify",
        message=(
            f"{actor} invited you to {distributor.name} as {invitation.get_role_display()}.\n\n"
            f"Accept: {link}\n\nThe invitation expires on {format_date(invitation.expires_at, distributor)}.\n"
        ),
        from_email=None,
        recipient_list=[email],
    )
    return invitation


INVITATION_CLOSED = "This invitation has expired or was already used."


class AlreadyMember(ValidationError):
    """The account accepting an invitation is already a member of its distributor: an invitation
    adds a member, it never changes one's role (a manager could otherwise demote the last manager
    by accepting a rep's invitation; roles change on the People page, which guards that)."""


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Consume the invitation once and grant its role. The invitation row is locked (SELECT ... FOR
    UPDATE) and then marked accepted by an UPDATE that only matches while it is still open, in the same
    transaction as the membership: of several people accepting at once, exactly one wins; the others
    (and anyone holding a copy read while it was open) get a ValidationError and nothing is written."""
    distributor = invitation.distributor
    now = timezone.now()
    with scope(distributor=distributor):
        open_invitations = Invitation.objects.filter(
            distributor=distributor, pk=invitation.pk, accepted_at__isnull=True, expires_at__gt=now
        )
        locked = Invitation.objects.select_for_update().filter(distributor=distributor, pk=invitation.pk).first()
        if locked is None or not locked.is_open:
            raise ValidationError(INVITATION_CLOSED)
        current = Membership.objects.filter(distributor=distributor, user=user).first() if user.pk else None
        if current is not None:  # checked before the invitation is used up: it stays open for its person
            raise AlreadyMember(
                f"You are already a member of {distributor.name} ({current.get_role_display().lower()}): "
                "this invitation is for someone else. A manager changes roles on the People page."
            )
        if not open_invitations.update(accepted_at=now):
            raise ValidationError(INVITATION_CLOSED)
        membership = Membership.objects.create(
            distributor=distributor, user=user, role=locked.role, rep=locked.rep, customer=locked.customer
        )
    invitation.accepted_at = now
    return membership


def invitation_sign_up_and_accept(*, invitation: Invitation, user: User | None, signup_form=None) -> Membership:
    """Accept `invitation` as `user`, or as the account `signup_form` (a valid SignupForm) creates, in
    one transaction: whoever loses the invitation to someone else keeps no new account."""
    with transaction.atomic():
        return invitation_accept(invitation=invitation, user=user if user is not None else signup_form.save())


def membership_set_role(*, membership: Membership, role: str, rep=None, customer=None) -> Membership:
    if membership.role == Role.MANAGER and role != Role.MANAGER:
        managers = Membership.objects.filter(distributor_id=membership.distributor_id, role=Role.MANAGER)
        if not managers.exclude(pk=membership.pk).exists():
            # Nobody could invite or change roles any more: the tenant would be locked out.
            raise ValidationError(
                {"role": "This is the last manager of the distributor; make someone else manager first."}
            )
    membership.role, membership.rep, membership.customer = role, rep, customer
    membership.full_clean(exclude=["user", "distributor"])
    membership.save(update_fields=["role", "rep", "customer"])
    return membership
