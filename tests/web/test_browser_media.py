"""Media in a real Chromium (issue 22): a new user attaches an image to an official post, sees it
previewed before anything is sent, writes both alternative texts with the keyboard only (live
counters and checks beside each), submits; the approver's queue shows it with its description,
and the approver reads both descriptions on the post page. Under the real Content-Security-
Policy (the preview is a blob: URL), at 1280 and 375 px (no horizontal scroll), axe-core clean."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import PASSWORD
from .test_browser import _axe, sign_in, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EN_ALT = "Bar chart: passport wait times fell from 20 days in 2023 to 8 days in 2025."
FR_ALT = "Graphique à barres : l'attente pour un passeport est passée de 20 jours en 2023 à 8 jours en 2025."
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return root


def chart(path) -> str:
    from workflows.demo_media import chart_png

    path.write_bytes(chart_png([("2023", 20), ("2024", 14), ("2025", 8)]))
    return str(path)


@pytest.fixture
def newcomer(seeded):
    """Someone on their first day: an author of dana's organisation who never posted."""
    from accounts.models import Team, User

    user = User.objects.create_user(username="nina", password=PASSWORD, organisation=seeded.dana.organisation,
                                    first_name="Nina")
    user.groups.add(Team.objects.get(organisation=seeded.dana.organisation, slug="authors").group)
    return user


def test_a_new_user_attaches_an_image_and_describes_it_with_the_keyboard(
        live_server, seeded, embedded, media_root, newcomer, browser: Browser, page: Page, tmp_path):
    from workflows.models import Post, PostMedium

    base = live_server.url
    # The author's side under the real policy: the preview's blob: URL is allowed, nothing else is.
    context = browser.new_context(bypass_csp=False)
    author = context.new_page()
    author.add_init_script(LISTEN)
    errors: list[str] = []
    author.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(author, base, "nina")
    author.goto(f"{base}/posts/new/")
    tab_to(author, "#id_text_en")
    author.keyboard.type("Good news: passport wait times are down to 8 days this year.")
    tab_to(author, "#id_text_fr")
    author.keyboard.type("Bonne nouvelle : l'attente pour un passeport est passée à 8 jours cette année.")
    # Choosing a file is the operating system's dialog; what follows is the keyboard's.
    author.locator("#id_media_upload").set_input_files(chart(tmp_path / "wait-times.png"))
    pending = author.locator("#media-pending .media-entry")
    expect(pending.locator("> legend")).to_contain_text("Image 1: wait-times.png")
    preview = pending.locator("img.media-entry__preview")
    expect(preview).to_be_visible()
    assert preview.get_attribute("src").startswith("blob:") and preview.get_attribute("alt") == ""
    assert author.evaluate("() => document.querySelector('#media-pending img').naturalWidth") == 480
    expect(author.locator("#status")).to_contain_text("wait-times.png is ready to attach")
    tab_to(author, "#media_new_alt_en")
    author.keyboard.type(EN_ALT)
    expect(author.locator("#media_new_alt_en_count")).to_have_text(re.compile(rf"^{len(EN_ALT)} of 1,500 characters$"))
    expect(author.locator("#media_new_alt_fr_checks")).to_contain_text("Image 1 has no French alternative text")
    tab_to(author, "#media_new_alt_fr")
    author.keyboard.type(FR_ALT)
    expect(author.locator("#media_new_alt_fr_checks")).to_contain_text("Image 1 is described in French")
    expect(author.locator("#checks")).to_contain_text("Plain language (reading level)")
    tab_to(author, "#id_rules_acknowledged")
    author.keyboard.press("Space")
    author.set_viewport_size({"width": 375, "height": 800})
    assert author.evaluate(OVERFLOW) <= 0
    author.set_viewport_size({"width": 1280, "height": 900})
    tab_to(author, "button[name=submit]")
    author.keyboard.press("Enter")
    expect(author.locator("#status")).to_contain_text("Submitted for review.")
    assert author.evaluate("window.__csp") == [] and errors == []
    post = Post.objects.filter(author=newcomer).get()
    pm = PostMedium.objects.get(post=post)
    assert (pm.alt_text_en, pm.alt_text_fr) == (EN_ALT, FR_ALT)
    context.close()

    # The approver: the queue shows the image with its description, the post page both.
    sign_in(page, base, "rami")
    page.goto(f"{base}/queue/")
    row = page.locator("tr", has=page.locator(f"a[href='/posts/{post.id}/']"))
    expect(row.locator(".queue-media img")).to_have_attribute("alt", EN_ALT)
    expect(row).to_contain_text("1 image or video")
    page.goto(f"{base}/posts/{post.id}/")
    figure = page.locator("#post-media figure")
    expect(figure.locator("img")).to_have_attribute("alt", EN_ALT)
    expect(figure.locator("[lang=en]")).to_have_text(EN_ALT)
    expect(figure.locator("[lang=fr]")).to_have_text(FR_ALT)
    assert page.evaluate("() => document.querySelector('#post-media img').naturalWidth") > 0  # served to staff
    expect(page.locator("ul.results")).to_contain_text("Every image described in each language")
    assert _axe(page) == []
    page.set_viewport_size({"width": 375, "height": 800})
    for path in (f"/posts/{post.id}/", "/queue/"):
        page.goto(base + path)
        assert page.evaluate(OVERFLOW) <= 0, path
    sign_in(page, base, "rami", lang="fr")
    page.goto(f"{base}/posts/{post.id}/")
    expect(page.locator("#post-media img")).to_have_attribute("alt", FR_ALT)
    assert _axe(page) == []


def test_compose_with_media_is_accessible_and_reorders_with_the_keyboard(
        live_server, seeded, embedded, media_root, page: Page, tmp_path):
    """Two stored media and a chosen file: axe-core clean at 375 px; Move up keeps the focus on
    the button and says where the medium went; Remove takes the focus to the next medium."""
    base = live_server.url
    sign_in(page, base, "dana")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/posts/new/")
    # Attach two files without the script's help (the no-JavaScript path: "Attach the file").
    for name in ("first.png", "second.png"):
        page.locator("#id_media_upload").set_input_files(chart(tmp_path / name))
        page.locator("#media-attach").click()
        expect(page.locator("#media-list")).to_contain_text(name)
    entries = page.locator("#media-list > .media-entry")
    expect(entries).to_have_count(2)
    page.locator("#id_media_upload").set_input_files(chart(tmp_path / "third.png"))
    expect(page.locator("#media-pending .media-entry")).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 0
    assert _axe(page) == []
    second = entries.nth(1)
    second_id = second.get_attribute("id")
    up = second.locator("[data-media-move=up]")
    up.focus()
    page.keyboard.press("Enter")
    expect(entries.first).to_have_attribute("id", second_id)
    expect(page.locator("#status")).to_contain_text("Moved: now 1 of 2.")
    focused = page.evaluate("() => document.activeElement.dataset.mediaMove")
    assert focused == "down"  # now first: its Move up is gone, the focus stays on the medium
    expect(entries.first.locator(".media-entry__number")).to_have_text("Image 1")
    page.keyboard.press("Shift+Tab")
    while page.evaluate("() => document.activeElement.dataset.mediaMove") != "remove":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(entries).to_have_count(1)
    expect(page.locator("#status")).to_contain_text("Removed from the post.")
