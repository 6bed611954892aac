import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from accounts.models import Distributor, Membership


@pytest.mark.django_db
def test_create_tenant_and_users_then_each_role_lands_on_its_page(client):
    call_command("create_tenant", "acme", "--name", "Acme Supply")
    for role, extra in [("manager", []), ("rep", ["--rep-id", "R7"]), ("customer", ["--customer-id", "C9"])]:
        call_command(
            "create_user", "--tenant", "acme", "--role", role, "--username", role, "--password", "pw-12345", *extra
        )
    with scopes_disabled():
        assert Membership.objects.filter(distributor__slug="acme").count() == 3
        assert Membership.objects.get(user__username="rep").rep.rep_id == "R7"
    expected = {"manager": "/acme/dashboard/", "rep": "/acme/customers/", "customer": "/acme/scorecard/"}
    for role, landing in expected.items():
        client.logout()
        assert client.post("/accounts/login/", {"username": role, "password": "pw-12345"}).status_code == 302
        response = client.get("/", follow=True)
        assert response.redirect_chain[-1][0] == landing
        assert response.status_code == 200


@pytest.mark.django_db
def test_create_tenant_rejects_duplicates_and_reserved_slugs():
    call_command("create_tenant", "acme", "--name", "Acme")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "acme", "--name", "Again")
    with pytest.raises(CommandError, match="reserved"):
        call_command("create_tenant", "api", "--name", "API")
    assert Distributor.objects.count() == 1


@pytest.mark.django_db
def test_create_user_needs_rep_code_for_rep_and_known_tenant():
    call_command("create_tenant", "acme", "--name", "Acme")
    with pytest.raises(CommandError, match="rep-id"):
        call_command("create_user", "--tenant", "acme", "--role", "rep", "--username", "r", "--password", "pw-12345")
    with pytest.raises(CommandError, match="No distributor"):
        call_command("create_user", "--tenant", "nope", "--role", "manager", "--username", "m", "--password", "p")
