"""Managers invite users and set roles; a user in two tenants switches; staff use the admin; bad
input gets a clear error and changes nothing."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django_scopes import scopes_disabled

from accounts.models import Invitation, Membership, User
from tests.conftest import PASSWORD, api_as
from tests.test_isolation_matrix import changed_tables, database_state

pytestmark = pytest.mark.django_db


def test_manager_invites_a_rep_who_signs_up_and_lands_on_my_customers(client, tenant_a):
    client.force_login(tenant_a.manager)
    response = client.post(
        f"/{tenant_a.slug}/members/", {"email": "new.rep@example.com", "role": "rep", "rep": tenant_a.other_rep.pk}
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.rep@example.com"]
    link = re.search(r"http://testserver(/accounts/invitation/\S+/)", mail.outbox[0].body).group(1)
    client.logout()

    page = client.get(link)
    assert page.status_code == 200 and "Join Tenant ALPHA" in page.content.decode()
    form = {
        "username": "newrep",
        "email": "new.rep@example.com",
        "password1": "Rep-pass-2026",
        "password2": "Rep-pass-2026",
    }
    landed = client.post(link, form, follow=True)
    assert landed.redirect_chain[-1][0] == f"/{tenant_a.slug}/customers/"
    assert landed.status_code == 200 and "My customers" in landed.content.decode()
    with scopes_disabled():
        membership = Membership.objects.get(user__username="newrep")
        assert (membership.distributor, membership.role, membership.rep) == (
            tenant_a.distributor,
            "rep",
            tenant_a.other_rep,
        )
        assert Invitation.objects.get().accepted_at is not None
    # The rep sees the customers of their rep code: the one assigned to other_rep, not the other one.
    body = landed.content.decode()
    assert tenant_a.unassigned_customer.customer_id in body and tenant_a.assigned_customer.customer_id not in body
    # The link is used up.
    client.logout()
    assert client.get(link).status_code == 410


def test_invitation_of_a_rep_needs_a_rep_code(client, tenant_a):
    client.force_login(tenant_a.manager)
    before = database_state()
    response = client.post(f"/{tenant_a.slug}/members/", {"email": "x@example.com", "role": "rep"})
    assert response.status_code == 400
    assert "Choose the rep code this person sells under." in response.content.decode()
    assert changed_tables(before, database_state()) == [] and mail.outbox == []


def test_rep_cannot_invite(client, tenant_a):
    client.force_login(tenant_a.rep_user)
    before = database_state()
    response = client.post(f"/{tenant_a.slug}/members/", {"email": "x@example.com", "role": "manager"})
    assert response.status_code == 403
    assert "Your role does not allow this." in response.content.decode()
    assert changed_tables(before, database_state()) == [] and mail.outbox == []


def test_manager_changes_a_role(client, tenant_a):
    client.force_login(tenant_a.manager)
    with scopes_disabled():
        member = Membership.objects.get(user=tenant_a.customer_user)
    response = client.post(f"/{tenant_a.slug}/members/{member.pk}/", {"role": "rep", "rep": tenant_a.rep.pk})
    assert response.status_code == 302
    with scopes_disabled():
        member.refresh_from_db()
    assert (member.role, member.rep, member.customer) == ("rep", tenant_a.rep, None)
    # Now a rep: lands on My customers.
    client.force_login(tenant_a.customer_user)
    assert client.get(f"/{tenant_a.slug}/").url == f"/{tenant_a.slug}/customers/"


def test_the_last_manager_cannot_step_down(client, tenant_a):
    client.force_login(tenant_a.manager)
    with scopes_disabled():
        me = Membership.objects.get(user=tenant_a.manager)
    before = database_state()
    response = client.post(f"/{tenant_a.slug}/members/{me.pk}/", {"role": "rep", "rep": tenant_a.rep.pk})
    assert response.status_code == 400 and "last manager" in response.content.decode()
    assert changed_tables(before, database_state()) == []


def test_member_of_another_tenant_cannot_be_edited(client, tenant_a, tenant_b):
    client.force_login(tenant_a.manager)
    with scopes_disabled():
        foreign = Membership.objects.get(user=tenant_b.rep_user)
    before = database_state()
    response = client.post(f"/{tenant_a.slug}/members/{foreign.pk}/", {"role": "manager"})
    assert response.status_code == 404
    assert changed_tables(before, database_state()) == []


def test_user_of_two_tenants_chooses_and_switches(client, tenant_a, tenant_b):
    with scopes_disabled():
        Membership.objects.create(distributor=tenant_b.distributor, user=tenant_a.manager, role="rep", rep=tenant_b.rep)
    client.force_login(tenant_a.manager)
    choice = client.get("/")
    body = choice.content.decode()
    assert choice.status_code == 200 and "Choose a distributor" in body
    assert f'href="/{tenant_a.slug}/dashboard/"' in body and f'href="/{tenant_b.slug}/customers/"' in body
    page = client.get(f"/{tenant_a.slug}/dashboard/").content.decode()
    assert 'id="tenant-switcher"' in page  # the switcher in the navigation lists both tenants
    assert f'href="/{tenant_a.slug}/"' in page and f'href="/{tenant_b.slug}/"' in page
    # Switching: the other tenant's home sends to the landing page of the role held there.
    switched = client.get(f"/{tenant_b.slug}/", follow=True)
    assert switched.redirect_chain[-1][0] == f"/{tenant_b.slug}/customers/"
    assert tenant_b.assigned_customer.customer_id in switched.content.decode()
    assert client.get(f"/{tenant_b.slug}/dashboard/").status_code == 403  # a rep there
    tenants = api_as(tenant_a.manager).get("/api/v1/tenants/").json()
    assert sorted((t["slug"], t["role"]) for t in tenants) == [(tenant_a.slug, "manager"), (tenant_b.slug, "rep")]


def test_platform_staff_use_the_admin(client, tenant_a, tenant_b):
    staff = User.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    assert client.post("/admin/login/?next=/admin/", {"username": "staff", "password": PASSWORD}).status_code == 302
    listing = client.get("/admin/accounts/distributor/")
    assert listing.status_code == 200
    assert "Tenant ALPHA" in listing.content.decode() and "Tenant BRAVO" in listing.content.decode()
    members = client.get("/admin/accounts/membership/")  # tenant-owned rows: the admin opts out of scoping
    assert members.status_code == 200 and tenant_b.manager.username in members.content.decode()
    with scopes_disabled():
        member = Membership.objects.get(user=tenant_a.rep_user)
    assert client.get(f"/admin/accounts/membership/{member.pk}/change/").status_code == 200
    assert staff.is_staff
    # A tenant manager is not platform staff.
    client.force_login(tenant_a.manager)
    assert client.get("/admin/accounts/distributor/").status_code == 302


# ---- bad input: a clear error, nothing changed --------------------------------------------------------
def test_unknown_tenant_and_foreign_tenant_are_404_on_pages_and_api(client, tenant_a, tenant_b):
    client.force_login(tenant_a.manager)
    api = api_as(tenant_a.manager)
    for slug in ("no-such-tenant", tenant_b.slug):
        page = client.get(f"/{slug}/dashboard/")
        assert page.status_code == 404 and "The page does not exist, or you do not have access to it." in (
            page.content.decode()
        )
        response = api.get(f"/api/v1/tenants/{slug}/customers/")
        assert response.status_code == 404 and response.json() == {"detail": "No such distributor."}


def test_role_without_the_right_is_403_with_a_message(client, tenant_a):
    client.force_login(tenant_a.rep_user)
    page = client.get(f"/{tenant_a.slug}/members/")
    assert page.status_code == 403 and "Your role does not allow this." in page.content.decode()
    response = api_as(tenant_a.customer_user).get(f"/api/v1/tenants/{tenant_a.slug}/customers/")
    assert response.status_code == 403 and response.json() == {"detail": "Your role does not allow this."}


def test_token_auth_and_malformed_bodies(api_client, tenant_a):
    before = database_state()
    bad_json = api_client.post("/api/v1/auth/token/", "{not json", content_type="application/json")
    assert bad_json.status_code == 400 and "JSON parse error" in bad_json.json()["detail"]
    missing = api_client.post("/api/v1/auth/token/", {"username": tenant_a.manager.username}, format="json")
    # Issue 11, item 8: every error carries a `detail`, the field messages stay beside it.
    assert missing.status_code == 400 and missing.json() == {
        "detail": "password: This field is required.",
        "password": ["This field is required."],
    }
    wrong = api_client.post(
        "/api/v1/auth/token/", {"username": tenant_a.manager.username, "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400 and "Unable to log in" in wrong.json()["non_field_errors"][0]
    assert changed_tables(before, database_state()) == []

    token = api_client.post(
        "/api/v1/auth/token/", {"username": tenant_a.manager.username, "password": PASSWORD}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    customers = api_client.get(f"/api/v1/tenants/{tenant_a.slug}/customers/")
    assert customers.status_code == 200 and customers.json()["count"] == 2
    before = database_state()
    malformed = api_client.put(f"/api/v1/tenants/{tenant_a.slug}/settings/", "[1, 2", content_type="application/json")
    assert malformed.status_code == 400 and "JSON parse error" in malformed.json()["detail"]
    assert changed_tables(before, database_state()) == []


def test_anonymous_api_is_401_with_a_message(api_client, tenant_a):
    response = api_client.get(f"/api/v1/tenants/{tenant_a.slug}/customers/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    bad = api_client.get(f"/api/v1/tenants/{tenant_a.slug}/customers/", HTTP_AUTHORIZATION="Token nope")
    assert bad.status_code == 401 and bad.json() == {"detail": "Invalid token."}


def test_invite_form_is_styled_like_the_rest_and_starts_on_the_rep_role(client, tenant_a):
    """Issue 11, item 7: Bootstrap's form controls, labels above them, the rep role chosen."""
    client.force_login(tenant_a.manager)
    html = client.get(f"/{tenant_a.slug}/members/").content.decode()
    form = re.search(r'<form method="post" id="invite-form".*?</form>', html, re.S).group(0)
    assert re.search(r'<input type="email" name="email"[^>]*class="form-control"', form)
    assert re.search(r'<select name="role"[^>]*class="form-select"', form)
    assert '<option value="rep" selected>Sales rep</option>' in form
    assert '<label class="form-label small mb-0" for="id_email">Email</label>' in form
    # Errors sit under their field.
    response = client.post(f"/{tenant_a.slug}/members/", {"email": "x@example.com", "role": "rep"})
    assert '<div class="invalid-feedback d-block">Choose the rep code this person sells under.</div>' in (
        response.content.decode()
    )


def test_changing_a_role_keeps_the_members_role_selected(client, tenant_a):
    client.force_login(tenant_a.manager)
    with scopes_disabled():
        member = Membership.objects.get(user=tenant_a.customer_user)
    html = client.get(reverse("member-role", kwargs={"tenant": tenant_a.slug, "pk": member.pk})).content.decode()
    assert '<option value="customer" selected>Customer</option>' in html and 'class="form-select"' in html


def test_an_invitation_never_changes_an_existing_members_role(client, tenant_a):
    """The last manager accepting a rep's invitation (a link meant for someone else) stays manager:
    the invitation is refused with why, and stays open for its person."""
    client.force_login(tenant_a.manager)
    client.post(f"/{tenant_a.slug}/members/", {"email": "x@example.com", "role": "rep", "rep": tenant_a.other_rep.pk})
    link = re.search(r"http://testserver(/accounts/invitation/\S+/)", mail.outbox[0].body).group(1)
    refused = client.post(link)
    assert refused.status_code == 409
    assert "You are already a member of Tenant ALPHA (manager)" in refused.content.decode()
    with scopes_disabled():
        assert Membership.objects.get(user=tenant_a.manager, distributor=tenant_a.distributor).role == "manager"
        assert Invitation.objects.get().accepted_at is None
    assert client.get(f"/{tenant_a.slug}/members/").status_code == 200  # still the manager


def test_an_invitation_address_longer_than_its_column_is_a_form_error(client, tenant_a):
    client.force_login(tenant_a.manager)
    response = client.post(f"/{tenant_a.slug}/members/", {"email": "x" * 300 + "@e.com", "role": "manager"})
    assert response.status_code == 400 and "at most 254 characters" in response.content.decode()
    with scopes_disabled():
        assert not Invitation.objects.exists()
