"""Log in, wrong passwords and throttling, password change and reset."""

import re

import pytest
from django.core import mail

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def test_wrong_password_gives_a_clear_message_and_no_session(client, tenant_a):
    response = client.post(LOGIN, {"username": tenant_a.manager.username, "password": "not-the-password"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(f"/{tenant_a.slug}/dashboard/").status_code == 302  # still anonymous: to the login page


def test_repeated_failures_lock_the_login_even_with_the_right_password(client, tenant_a, settings):
    username = tenant_a.rep_user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(LOGIN, {"username": username, "password": "guess"}).status_code == 200
    locked = client.post(LOGIN, {"username": username, "password": "guess"})
    assert locked.status_code == 429
    assert "Too many failed log-in attempts" in locked.content.decode()
    right = client.post(LOGIN, {"username": username, "password": PASSWORD})
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # Another user from the same address is not locked out by someone else's failures.
    other = client.post(LOGIN, {"username": tenant_a.manager.username, "password": PASSWORD})
    assert other.status_code == 302 and client.session["_auth_user_id"] == str(tenant_a.manager.pk)


def test_password_change(client, tenant_a):
    client.force_login(tenant_a.manager)
    page = client.get("/accounts/password_change/")
    assert page.status_code == 200 and "Change your password" in page.content.decode()
    wrong = client.post(
        "/accounts/password_change/",
        {"old_password": "nope", "new_password1": "N3w-secret-pass", "new_password2": "N3w-secret-pass"},
    )
    assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.content.decode()
    done = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "N3w-secret-pass", "new_password2": "N3w-secret-pass"},
    )
    assert done.status_code == 302 and done.url == "/accounts/password_change/done/"
    tenant_a.manager.refresh_from_db()
    assert tenant_a.manager.check_password("N3w-secret-pass")


def test_password_reset_sends_a_link_that_sets_a_new_password(client, tenant_a):
    email = tenant_a.rep_user.email
    response = client.post("/accounts/password_reset/", {"email": email})
    assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [email] and message.subject == "Reset your Stratify password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "Fresh-pass-2026", "new_password2": "Fresh-pass-2026"})
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    tenant_a.rep_user.refresh_from_db()
    assert tenant_a.rep_user.check_password("Fresh-pass-2026")
    # The link works once.
    again = client.get(link, follow=True)
    assert "invalid or was already used" in again.content.decode()


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, tenant_a):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert mail.outbox == []
