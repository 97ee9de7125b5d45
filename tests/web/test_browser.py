"""Real Chromium (Playwright) against the live server: the two lanes end to end, in English and
French, the other organisation seeing none of it, keyboard-only replying, and axe-core."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import AXE, PASSWORD, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def sign_in(page: Page, base: str, username: str, *, lang: str = "en") -> None:
    page.context.clear_cookies()
    # An explicit language choice (the toggle's cookie) wins over the user's saved preference.
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page.goto(f"{base}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.narrow button[type=submit]").click()
    expect(page.locator("nav.site-nav")).to_be_visible()


def ingest(demo, text, external_id, channel="dpe-en"):
    from workflows.services.inbound import inbound_ingest

    msg, _ = inbound_ingest(by=demo.dana, channel=channel, external_id=external_id, author="@citizen", text=text)
    return msg


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has the focus (keyboard only)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


WORDS = {
    "en": {"new": "New", "claimed": "claimed by you", "count": "of 500 characters", "passed": "Passed", "sent": "Sent"},
    "fr": {"new": "Nouveau", "claimed": "pris en charge par vous", "count": "caractères sur 500", "passed": "Réussi",
           "sent": "Envoyé"},
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_dana_replies_with_the_keyboard_only_and_sees_it_published(live_server, seeded, embedded, page: Page, lang):
    words = WORDS[lang]
    text = {"en": "Hello, when does the passport office open on Monday?",
            "fr": "Bonjour, à quelle heure ouvre le bureau des passeports lundi ?"}[lang]
    msg = ingest(seeded, text, f"kb-{lang}", channel=f"dpe-{lang}")
    base = live_server.url
    sign_in(page, base, "dana", lang=lang)
    page.goto(f"{base}/inbox/")
    row = page.locator(f"#inbound-{msg.id}")
    expect(row).to_contain_text(words["new"])
    # Claim without reload (htmx), announced in the status region.
    tab_to(page, f"#inbound-{msg.id} form button")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text(words["claimed"])
    expect(page.locator(f"#inbound-{msg.id}")).to_contain_text("dana")
    tab_to(page, f"#inbound-{msg.id} a")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("@citizen")
    expect(page.locator("#id_text")).to_have_attribute("lang", lang)
    tab_to(page, "#id_text")
    page.keyboard.type({"en": "Thank you for asking. The office opens at 9:00 on Monday.",
                        "fr": "Merci de votre question. Le bureau ouvre à 9 h lundi."}[lang])
    expect(page.locator("#checks")).to_contain_text(words["count"])
    tab_to(page, "#id_rules_acknowledged")
    page.keyboard.press("Space")
    expect(page.locator("#checks")).to_contain_text(words["passed"])
    expect(page.locator("#checks li.bad")).to_have_count(0)
    tab_to(page, "form.reply-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".badge")).to_have_class(re.compile("badge--published"))
    expect(page.locator("#publications")).to_contain_text(words["sent"])
    expect(page.locator("#publications a")).to_have_count(1)
    expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_official_post_through_every_step(live_server, seeded, embedded, page: Page, lang):
    base = live_server.url
    sign_in(page, base, "dana", lang=lang)
    page.goto(f"{base}/posts/new/")
    page.locator("#id_text_en").fill("Our offices reopen on Monday at 9:00. Details: https://www.canada.ca/en.html")
    expect(page.locator("#checks")).to_contain_text("500")
    page.locator("#id_rules_acknowledged").check()
    page.locator("button[name=submit]").click()
    expect(page.locator(".badge")).to_have_class(re.compile("badge--in_review"))
    post_url = page.url
    post_id = int(re.search(r"/posts/(\d+)/", post_url).group(1))

    sign_in(page, base, "rami", lang=lang)
    page.goto(post_url)
    page.locator("#id_comment").fill("Good." if lang == "en" else "Bien.")
    page.locator(f"form[action='/posts/{post_id}/approve/'] button.btn--primary").click()
    expect(page.locator(".meta")).to_contain_text("Translat" if lang == "en" else "Traduction")

    sign_in(page, base, "tess", lang=lang)
    page.goto(post_url)
    page.locator("#id_language").select_option("fr")
    page.locator("#id_text").fill("Nos bureaux rouvrent lundi à 9 h. Détails : https://www.canada.ca/fr.html")
    page.locator(f"form[action='/posts/{post_id}/translate/'] button").click()
    expect(page.locator("p.post-text[lang=fr]")).to_contain_text("Nos bureaux")
    page.locator(f"form[action='/posts/{post_id}/approve/'] button.btn--primary").click()

    sign_in(page, base, "cora", lang=lang)
    page.goto(post_url)
    expect(page.locator("p.post-text[lang=en]")).to_contain_text("Our offices")
    expect(page.locator("p.post-text[lang=fr]")).to_contain_text("Nos bureaux")
    page.locator(f"form[action='/posts/{post_id}/approve/'] button.btn--primary").click()
    expect(page.locator(".badge")).to_have_class(re.compile("badge--published"))
    expect(page.locator("#publications tbody tr")).to_have_count(2)
    expect(page.locator("#publications a")).to_have_count(2)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    # The banner says exactly what is live, in the reader's language (issue 11).
    expect(page.locator("#publishing-truth")).to_contain_text(
        {"en": "English is live; French is live.", "fr": "L'anglais est en ligne\u202f; le français est en ligne."}[lang])
    if lang == "fr":
        expect(page.get_by_role("heading", name="Texte", exact=True)).to_be_visible()

    # omar, in another organisation, sees none of it.
    sign_in(page, base, "omar", lang=lang)
    response = page.goto(post_url)
    assert response.status == 404
    page.goto(f"{base}/inbox/?status=all")
    expect(page.locator("table")).to_have_count(0)
    page.goto(f"{base}/queue/")
    expect(page.locator("table")).to_have_count(0)
    page.goto(f"{base}/")
    expect(page.locator("main")).not_to_contain_text("Our offices")


def _pages(demo, base):
    """Every page of the UI with data on it, reached by calling the real services."""
    from workflows.services import posts, reviews

    msg = ingest(demo, "Bonjour, quand le bureau ouvre-t-il lundi ?", "axe-1", channel="dpe-fr")
    ingest(demo, "Is the office open on Monday?", "axe-2")
    post = posts.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                             texts={"en": "The office reopens on Monday."}, rules_acknowledged=True)
    posts.post_edit(post_id=post.id, by=demo.dana, texts={"en": "The office reopens on Monday at 9:00."})
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami, comment="Fine by me.")
    posts.post_create(author=demo.dana, kind="post", channels=["dpe-en"], texts={"en": "A draft about the fall."})
    # Something published for the metrics: a reply to a citizen, and an urgent bilingual post.
    answered = ingest(demo, "Where can I renew my passport?", "axe-3")
    reply = posts.post_create(author=demo.dana, kind="reply", in_reply_to=answered.id, rules_acknowledged=True,
                              texts={"en": "You can renew it online at https://www.canada.ca/en.html."})
    posts.post_submit(post_id=reply.id, by=demo.dana)
    urgent = posts.post_create(author=demo.uma, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=True,
                               texts={"en": "The office is closed today.", "fr": "Le bureau est fermé aujourd'hui."})
    urgent = posts.post_submit(post_id=urgent.id, by=demo.uma)
    posts.post_publish_urgent(post_id=urgent.id, by=demo.uma, reason="Storm closure")
    return [
        ("home", "dana", "/"),
        ("inbox", "dana", "/inbox/"),
        ("reply", "dana", f"/inbox/{msg.id}/"),
        ("compose", "dana", "/posts/new/"),
        ("post", "tess", f"/posts/{post.id}/"),
        ("queue", "tess", "/queue/"),
        ("metrics", "cora", "/metrics/"),
    ]


def _axe(page: Page) -> list[dict]:
    page.wait_for_function("() => customElements.get('gcds-header') !== undefined")
    page.wait_for_selector("gcds-header.hydrated")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))",
        AXE_TAGS,
    )


def test_every_page_passes_axe_in_both_languages_and_screenshots(live_server, seeded, embedded, page: Page, tmp_path):
    """Also screenshots every page; PARLEY_SCREENSHOTS=1 writes them to docs/screenshots/."""
    base = live_server.url
    pages = _pages(seeded, base)
    shots = SCREENSHOTS if os.environ.get("PARLEY_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    failures = {}
    external = []
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) and not r.url.startswith("data:") else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    for lang in ("en", "fr"):
        page.context.clear_cookies()
        page.goto(f"{base}/accounts/login/")
        if lang == "fr":
            page.get_by_role("button", name="Français").click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        violations = _axe(page)
        if violations:
            failures[f"login/{lang}"] = violations
        page.screenshot(path=str(shots / f"login-{lang}.png"), full_page=True)
        current = None
        for name, user, path in pages:
            if user != current:
                sign_in(page, base, user, lang=lang)
                current = user
            response = page.goto(base + path)
            assert response.status == 200, (name, lang)
            expect(page.locator("html")).to_have_attribute("lang", lang)
            violations = _axe(page)
            if violations:
                failures[f"{name}/{lang}"] = violations
            page.screenshot(path=str(shots / f"{name}-{lang}.png"), full_page=True)
    assert failures == {}
    assert external == []
    assert console_errors == []
    assert all((shots / f"{name}-{lang}.png").exists() for name, _u, _p in [("login", "", ""), *pages]
               for lang in ("en", "fr"))
