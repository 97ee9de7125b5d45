"""Issue 21 journeys in a real Chromium, from the public servant's side: the first sign-in with
a French browser (French pages after sign-in, until the person chooses English with the toggle,
which is remembered), and retracting a published post with the keyboard only (confirmation,
a truthful page afterwards, no axe-core violation)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import PASSWORD
from .test_browser import _axe, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.narrow button[type=submit]").click()
    expect(page.locator("nav.site-nav")).to_be_visible()


def test_first_sign_in_with_a_french_browser(live_server, seeded, browser: Browser):
    base = live_server.url
    french = browser.new_context(locale="fr-CA", bypass_csp=True)  # Accept-Language: fr-CA
    page = french.new_page()
    page.goto(f"{base}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    _sign_in(page, base, "dana")
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # not the profile's never-chosen English
    page.goto(f"{base}/posts/new/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text("Nouvelle publication officielle")
    page.goto(f"{base}/inbox/?lang=en")  # ?lang= always decides, for this page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    # dana chooses English with the header's toggle: remembered for her, on any browser.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    french.close()
    again = browser.new_context(locale="fr-CA", bypass_csp=True)
    page = again.new_page()
    _sign_in(page, base, "dana")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    again.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_retract_a_published_post_with_the_keyboard(live_server, seeded, page: Page, lang):
    from tests.workflows import factories as f

    post = f.published(seeded)
    base = live_server.url
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    _sign_in(page, base, "cora")
    page.goto(f"{base}/posts/{post.id}/")
    expect(page.locator("#retract")).to_be_visible()
    assert _axe(page) == []
    # Without the confirmation nothing is deleted, and the error is said.
    tab_to(page, "#retract button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#id_retract_confirm_error")).to_be_visible()
    expect(page.locator(".badge")).to_have_class(re.compile("badge--published"))
    tab_to(page, "#id_retract_confirm")
    page.keyboard.press("Space")
    tab_to(page, "#retract button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".badge")).to_have_class(re.compile("badge--retracted"))
    expect(page.locator(".badge")).to_have_text({"en": "Retracted", "fr": "Retirée"}[lang])
    expect(page.locator("#publishing-truth h2")).to_have_text({"en": "Retracted", "fr": "Retirée"}[lang])
    expect(page.locator("#publishing-truth")).not_to_contain_text(
        {"en": "being published", "fr": "en cours de publication"}[lang])
    expect(page.locator("#publications a")).to_have_count(0)  # no links to deleted statuses
    expect(page.locator(".message--success")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert _axe(page) == []
