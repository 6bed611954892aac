"""An invitation is consumed once: a second acceptance is refused (both backends), and several
people accepting at the same moment give exactly one membership (PostgreSQL, real threads)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django_scopes import scope, scopes_disabled

from accounts import services
from accounts.models import Invitation, Membership, User
from tests import factories as f

ACCEPTORS = 4


def _invitation(distributor, manager, email="joiner@example.com") -> Invitation:
    with scope(distributor=distributor):
        return Invitation.objects.create(distributor=distributor, email=email, role="manager", invited_by=manager)


def _fresh(invitation) -> Invitation:
    """The invitation as a request loads it (the view reads it before it decides)."""
    with scopes_disabled():
        return Invitation.objects.select_related("distributor").get(token=invitation.token)


def _memberships(distributor) -> list[str]:
    with scopes_disabled():
        return sorted(Membership.objects.filter(distributor=distributor).values_list("user__username", flat=True))


@pytest.mark.django_db
def test_a_second_acceptance_is_refused_even_from_a_copy_read_before_the_first(tenant_a):
    invitation = _invitation(tenant_a.distributor, tenant_a.manager)
    first_copy, second_copy = _fresh(invitation), _fresh(invitation)  # both read while it was open
    first, second = f.UserFactory(username="first"), f.UserFactory(username="second")
    services.invitation_accept(invitation=first_copy, user=first)
    with pytest.raises(ValidationError, match="already used"):
        services.invitation_accept(invitation=second_copy, user=second)
    members = _memberships(tenant_a.distributor)
    assert "first" in members and "second" not in members
    assert _fresh(invitation).accepted_at is not None


@pytest.mark.django_db
def test_a_second_signup_through_the_link_creates_no_user_and_no_membership(client, tenant_a):
    invitation = _invitation(tenant_a.distributor, tenant_a.manager)
    link = f"/accounts/invitation/{invitation.token}/"
    stale = _fresh(invitation)
    assert client.post(link, _signup("winner")).status_code == 302
    # A request that had read the invitation while it was still open, and signs up now, loses.
    with pytest.raises(ValidationError):
        services.invitation_accept(invitation=stale, user=f.UserFactory(username="late"))
    loser = Client().post(link, _signup("loser"))
    assert loser.status_code == 410
    assert not User.objects.filter(username="loser").exists()
    assert "winner" in _memberships(tenant_a.distributor) and "late" not in _memberships(tenant_a.distributor)


def _signup(username: str) -> dict:
    return {
        "username": username,
        "email": f"{username}@example.com",
        "password1": "Join-pass-2026",
        "password2": "Join-pass-2026",
    }


def _run_at_once(targets) -> list:
    """Run each target in its own thread (own database connection), released together."""
    barrier = threading.Barrier(len(targets))
    outcomes: list = [None] * len(targets)

    def worker(index, target):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = target()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.postgres  # SQLite serialises whole transactions, so only PostgreSQL can show the race
@pytest.mark.parametrize("trial", range(5))
def test_simultaneous_acceptances_give_exactly_one_membership(transactional_db, trial):
    distributor = f.DistributorFactory(slug=f"race-{trial}")
    manager = f.UserFactory(username=f"race-manager-{trial}")
    invitation = _invitation(distributor, manager)
    users = [f.UserFactory(username=f"acceptor-{trial}-{i}") for i in range(ACCEPTORS)]
    copies = [_fresh(invitation) for _ in users]  # each read while open, as each request would

    outcomes = _run_at_once(
        [lambda c=c, u=u: services.invitation_accept(invitation=c, user=u) for c, u in zip(copies, users, strict=True)]
    )
    won = [o for o in outcomes if isinstance(o, Membership)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(won), len(refused)) == (1, ACCEPTORS - 1), outcomes
    assert _memberships(distributor) == [won[0].user.username]


@pytest.mark.postgres
def test_simultaneous_signups_through_the_link_make_one_account(transactional_db):
    distributor = f.DistributorFactory(slug="race-signup")
    invitation = _invitation(distributor, f.UserFactory(username="race-signup-manager"))
    link = f"/accounts/invitation/{invitation.token}/"
    names = [f"signup-{i}" for i in range(ACCEPTORS)]
    statuses = _run_at_once([lambda n=n: Client().post(link, _signup(n)).status_code for n in names])
    assert sorted(statuses) == [302] + [410] * (ACCEPTORS - 1), statuses
    joined = _memberships(distributor)
    assert len(joined) == 1
    assert list(User.objects.filter(username__in=names).values_list("username", flat=True)) == joined
