"""Browser fixtures (Playwright, Chromium from Debian at /usr/bin/chromium — never `playwright install`).

- `browser`: one Chromium per test module (Playwright's sync API allows one at a time per thread).
- `page`: a fresh context and page per test. Every request is recorded in `page.requests_seen`; any
  request for a host other than the live server's is blocked and listed in `page.external_requests`,
  and the test fails at teardown if there was one (no asset may come from the internet).

The live server listens on 127.0.0.1. Playwright's sync API runs an event loop in this thread, so
Django's async-safety guard is relaxed for the test thread (the server itself runs in its own thread)."""

import os
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does it)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.requests_seen, page.external_requests = [], []

    def guard(route):
        url = route.request.url
        page.requests_seen.append(url)
        if urlsplit(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.external_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    yield page
    context.close()
    assert page.external_requests == [], f"requests left the machine: {page.external_requests}"
