"""Bad credentials of any shape are a form error (login page) or a 400 (token endpoint), never a 500:
django-axes records a failed username in a 255-character column, so an over-long one must not reach it."""

import pytest
from axes.models import AccessAttempt

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"

ODD_USERNAMES = {
    "300 characters": "u" * 300,
    "256 characters": "é" * 256,
    "NUL byte": "user\x00name",
    "unicode": "用户名-ユーザー-🙂",
    "right-to-left": "\u202eadmin",
    "spaces only": "   ",
}


@pytest.mark.parametrize("username", ODD_USERNAMES.values(), ids=ODD_USERNAMES.keys())
def test_login_form_answers_a_form_error(client, tenant_a, username):
    response = client.post(LOGIN, {"username": username, "password": "whatever"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors  # shown on the page, not a server error


@pytest.mark.parametrize("username", ODD_USERNAMES.values(), ids=ODD_USERNAMES.keys())
def test_token_endpoint_answers_400(api_client, tenant_a, username):
    response = api_client.post(TOKEN, {"username": username, "password": "whatever"}, format="json")
    assert response.status_code == 400, response.content
    assert "token" not in response.json()


def test_over_long_usernames_are_refused_by_length_before_authentication(client, api_client, tenant_a):
    """The length is checked as a field error; nothing reaches the authentication backends (axes)."""
    long_name = "u" * 300
    form = client.post(LOGIN, {"username": long_name, "password": "whatever"})
    assert "at most 150 characters" in str(form.context["form"].errors["username"])
    token = api_client.post(TOKEN, {"username": long_name, "password": "whatever"}, format="json")
    assert "username" in token.json(), token.json()
    assert not AccessAttempt.objects.filter(username__startswith="uuuu").exists()


def test_token_endpoint_non_string_and_missing_fields_are_400(api_client, tenant_a):
    for body in ({"username": ["a"], "password": "x"}, {"username": {"a": 1}, "password": "x"}, {"password": "x"}, {}):
        assert api_client.post(TOKEN, body, format="json").status_code == 400, body


def test_right_credentials_still_work(client, api_client, tenant_a):
    assert api_client.post(TOKEN, {"username": tenant_a.manager.username, "password": PASSWORD}).status_code == 200
    assert client.post(LOGIN, {"username": tenant_a.manager.username, "password": PASSWORD}).status_code == 302
