"""Real Chromium: communications settles two publications whose outcome is unknown, in English
and in French, and the page passes axe-core with the forms on it."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from workflows.models import Publication

from .test_browser import _axe, sign_in
from .test_resolve import unknown_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {"yes": "It was published", "no": "It was not published", "done": "Recorded as published",
           "heading": "Outcome unknown: check the channel"},
    "fr": {"yes": "Elle a été publiée", "no": "Elle n'a pas été publiée", "done": "Consignée comme publiée",
           "heading": "Résultat inconnu\u00a0: vérifiez sur le compte"},
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_communications_settles_unknown_publications(live_server, seeded, page: Page, lang):
    words = WORDS[lang]
    post, en, fr = unknown_post(seeded)
    base = live_server.url
    sign_in(page, base, "cora", lang=lang)
    page.goto(f"{base}/posts/{post.id}/")
    expect(page.get_by_role("heading", name=words["heading"])).to_be_visible()
    assert _axe(page) == []

    page.locator(f"#id_pub{en.id}_url").fill("https://social.example/@DPE_en/1")
    page.locator(f"form:has(#id_pub{en.id}_url)").get_by_role("button", name=words["yes"], exact=True).click()
    expect(page.locator("#status")).to_contain_text(words["done"])
    expect(page.locator(f"#id_pub{en.id}_url")).to_have_count(0)
    page.locator(f"form:has(#id_pub{fr.id}_url)").get_by_role("button", name=words["no"]).click()
    expect(page.get_by_role("heading", name=words["heading"])).to_have_count(0)
    assert _axe(page) == []
    assert dict(Publication.objects.filter(post=post.id).values_list("language", "status")) == {
        "en": "sent", "fr": "failed"}
    assert Publication.objects.get(id=en.id).url == "https://social.example/@DPE_en/1"
