"""Each role logs in through the real login form in Chromium and lands on its page; nothing is
fetched from anywhere but the local server."""

from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANDING = {
    "manager": ("dashboard/", "Dashboard"),
    "rep": ("customers/", "My customers"),
    "customer": ("scorecard/", ""),
}


@pytest.mark.parametrize("role", ["manager", "rep", "customer"])
def test_role_logs_in_and_lands_on_its_page(page, tenant_a, tenant_b, role):
    user = tenant_a.users()[role]
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    path, nav_text = LANDING[role]
    page.wait_for_url(f"**/{tenant_a.slug}/{path}")
    assert urlsplit(page.url).path == f"/{tenant_a.slug}/{path}"
    assert page.title().endswith("Tenant ALPHA")
    html = page.content()
    assert "bravo" not in html.lower()  # nothing of the other tenant
    if nav_text:
        assert page.locator("nav").get_by_text(nav_text, exact=True).count() >= 1
    if role == "customer":
        assert "Dashboard" not in page.locator("nav").inner_text()
    # Static assets (Bootstrap, htmx) came from the local server.
    assert any("/static/vendor/" in url for url in page.requests_seen)
    assert {urlsplit(url).hostname for url in page.requests_seen} <= {"127.0.0.1"}
    # Log out through the navigation's form.
    page.click("nav button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/")


def test_wrong_password_shows_the_message(page, tenant_a):
    page.goto("/accounts/login/")
    page.fill("#id_username", tenant_a.manager.username)
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "Please enter a correct username and password" in page.locator(".alert-danger").inner_text()
    assert urlsplit(page.url).path == "/accounts/login/"
