"""What people read on the pages: no stray space before a full stop ("to Nov 30, 2027 ."), and the
interactions page writes its dates in the tenant's one date format like every other page."""

import csv
import io
import re
from datetime import date

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from .conftest import login
from .test_money_and_dates import euro, pages  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

# Inline elements run on with the text around them ("<strong>30.11.2027</strong>." reads
# "30.11.2027."); block elements and line breaks separate words.
INLINE = r"a|abbr|b|code|em|i|small|span|strong|time|sub|sup|mark|label|bdi|kbd"
SPACE_BEFORE_STOP = re.compile(r"[^\s.]\s+\.(?=\s|$)")


def reading_text(html: str) -> str:
    """The page's text as a browser lays it out (roughly): inline tags vanish, block tags separate."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    html = re.sub(rf"</?(?:{INLINE})\b[^>]*>", "", html, flags=re.I)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"[ \t\r\n]+", " ", html.replace("&nbsp;", "\xa0"))


def test_the_reading_text_keeps_inline_tags_in_the_sentence():
    assert reading_text("<p>to <strong>Nov 30, 2027</strong>.</p>") == " to Nov 30, 2027. "
    assert SPACE_BEFORE_STOP.search(reading_text("<p>to <strong>Nov 30, 2027</strong>\n.</p>"))
    assert SPACE_BEFORE_STOP.search(reading_text('see the <a href="/m">channel map</a> .'))
    assert not SPACE_BEFORE_STOP.search(reading_text("<td>1</td>\n<td>.5</td> and 3.5 ..."))


def _more_pages(tenant):
    t = tenant.slug
    return [
        (tenant.manager, reverse(name, kwargs={"tenant": t}))
        for name in ("interaction-list", "partner-list", "profit-centers", "coaching")
    ]


def test_no_page_puts_a_space_before_a_full_stop(tenant_a, euro):  # noqa: F811
    for user, url in pages(tenant_a, euro) + _more_pages(tenant_a):
        response = login(user).get(url)
        assert response.status_code == 200, url
        text = reading_text(response.content.decode())
        assert [text[max(m.start() - 40, 0) : m.end()] for m in SPACE_BEFORE_STOP.finditer(text)] == [], url


def test_the_interactions_page_writes_dates_in_the_tenant_s_format(tenant_a):
    with scopes_disabled():
        interaction = tenant_a.interaction
        interaction.date = date(2026, 11, 29)
        interaction.save()
    url = reverse("interaction-list", kwargs={"tenant": tenant_a.slug})
    client = login(tenant_a.manager)
    html = client.get(url).content.decode()
    table = html[html.index('id="interactions-table"') :]
    table = table[: table.index("</table>")]
    assert "Nov 29, 2026" in table and "2026-11-29" not in table
    assert re.findall(r"\b\d{4}-\d{2}-\d{2}\b", reading_text(table)) == []  # no ISO date on any row
    # The export keeps the date a date (ISO in the CSV).
    rows = list(csv.reader(io.StringIO(client.get(url, {"export": "csv"}).content.decode("utf-8-sig"))))
    assert any("2026-11-29" in row for row in rows[1:])
