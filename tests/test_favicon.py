"""Issue 11, item 7: every page names the project's own favicon (served from static, nothing from the
internet)."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


def test_pages_link_the_favicon_served_from_static(client, tenant_a):
    href = static("favicon.svg")
    for path in ("/accounts/login/",):
        assert f'<link rel="icon" href="{href}" type="image/svg+xml">' in client.get(path).content.decode()
    client.force_login(tenant_a.manager)
    assert f'<link rel="icon" href="{href}"' in client.get(f"/{tenant_a.slug}/dashboard/").content.decode()
    found = finders.find("favicon.svg")
    assert found and Path(found).read_text(encoding="utf-8").startswith("<svg")
