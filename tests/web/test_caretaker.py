"""Caretaker periods in the web UI: the page, the declare form, the banner (views), and a real
Chromium walk in English and French with axe-core."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.workflows import factories as f
from workflows.models import CaretakerPeriod
from workflows.services import caretaker

from .test_browser import _axe, sign_in


def _fmt(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def _declare(demo, **kw):
    now = timezone.now()
    return caretaker.caretaker_period_create(
        by=demo.cora, name_en="2027 general election", name_fr="Élections générales de 2027",
        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3),
        banner_en="Caretaker period: replies need approval.", banner_fr="Période de transition : les réponses doivent être approuvées.",
        **kw,
    )[0]


@pytest.mark.django_db
def test_banner_on_every_page_while_in_force_in_the_readers_language(client, demo):
    client.force_login(demo.dana)
    assert "caretaker-banner" not in client.get("/").content.decode()
    _declare(demo)
    for url in ("/", "/inbox/", "/queue/", "/metrics/", "/caretaker/"):
        assert "Caretaker period: replies need approval." in client.get(url).content.decode(), url
    client.cookies["django_language"] = "fr"
    assert "Période de transition : les réponses doivent être approuvées." in client.get("/").content.decode()


@pytest.mark.django_db
def test_declare_lists_the_posts_caught_and_refusals_change_nothing(client, demo):
    scheduled = f.scheduled(demo)
    now = timezone.now()
    form = {"name_en": "Election", "name_fr": "Élection", "starts_at": _fmt(now),
            "ends_at": _fmt(now + timedelta(days=1)), "official_lane_only": "on", "paused_channels": ["dpe-fr"]}
    client.force_login(demo.dana)
    r = client.post("/caretaker/", form, follow=True)
    assert "You may not manage caretaker periods." in r.content.decode()
    assert not CaretakerPeriod.objects.exists()
    client.force_login(demo.cora)
    bad = client.post("/caretaker/", {**form, "ends_at": _fmt(now - timedelta(days=1))})
    assert "The end must come after the start." in bad.content.decode()
    assert not CaretakerPeriod.objects.exists()
    r = client.post("/caretaker/", form, follow=True)
    page = r.content.decode()
    assert "Caretaker period declared." in page
    assert f"/posts/{scheduled.id}/" in page  # listed for review
    period = CaretakerPeriod.objects.get()
    assert [c.slug for c in period.paused_channels.all()] == ["dpe-fr"]
    r = client.post(f"/caretaker/{period.id}/cancel/", follow=True)
    assert "Caretaker period ended." in r.content.decode()
    assert CaretakerPeriod.objects.get().cancelled_at is not None


WORDS = {
    "en": {"nav": "Caretaker periods", "declare": "Declare the period", "done": "Caretaker period declared.",
           "banner": "Caretaker period in force:", "name_en": "Name in English", "end": "End now"},
    "fr": {"nav": "Périodes de transition", "declare": "Déclarer la période", "done": "Période de transition déclarée.",
           "banner": "Période de transition en vigueur\u00a0:", "name_en": "Nom en anglais", "end": "Terminer maintenant"},
}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_communications_declares_a_period_with_the_keyboard(live_server, seeded, page: Page, lang):
    words = WORDS[lang]
    base = live_server.url
    sign_in(page, base, "cora", lang=lang)
    page.get_by_role("link", name=words["nav"]).click()
    assert _axe(page) == []
    now = timezone.now()
    page.get_by_label(words["name_en"]).fill("2027 general election")
    page.locator("#id_name_fr").fill("Élections générales de 2027")
    page.locator("#id_starts_at").fill(_fmt(now - timedelta(minutes=5)))
    page.locator("#id_ends_at").fill(_fmt(now + timedelta(days=2)))
    page.locator("#id_banner_en").fill("Election period: replies need approval.")
    page.locator("#id_banner_fr").fill("Période électorale : les réponses doivent être approuvées.")
    page.get_by_role("button", name=words["declare"]).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text(words["done"])
    banner = page.locator(".caretaker-banner[role=region]")
    expect(banner).to_have_attribute("aria-label", "Caretaker period" if lang == "en" else "Période de transition")
    expect(banner).to_contain_text(words["banner"])
    expect(banner).to_contain_text("Election period" if lang == "en" else "Période électorale")
    assert _axe(page) == []
    page.set_viewport_size({"width": 375, "height": 800})
    wide = page.evaluate("""() => [document.documentElement.scrollWidth, getComputedStyle(document.querySelector('.table-scroll')).overflowX, ...[...document.querySelectorAll('body *')].filter(e => !e.closest('table') && e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 15)]""")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
    page.get_by_role("button", name=words["end"]).first.click()
    expect(page.locator(".caretaker-banner")).to_have_count(0)
    assert CaretakerPeriod.objects.get().cancelled_at is not None


@pytest.mark.django_db
def test_signature_page_and_who_answers_on_metrics(client, demo):
    client.force_login(demo.dana)
    r = client.post("/signature/", {"signature_en": "– Dana, Passport Program", "signature_fr": "– Dana, Programme de passeport"}, follow=True)
    assert "Signature saved." in r.content.decode()
    demo.dana.refresh_from_db()
    assert demo.dana.signature_fr == "– Dana, Programme de passeport"
    bad = client.post("/signature/", {"signature_en": "x" * 150, "signature_fr": ""})
    assert "error-summary" in bad.content.decode()
    assert "Who answers" in client.get("/metrics/").content.decode()
    client.cookies["django_language"] = "fr"
    assert "Qui répond" in client.get("/metrics/").content.decode()


SIG = {"en": {"link": "Your signature", "save": "Save signature", "done": "Signature saved."},
       "fr": {"link": "Votre signature", "save": "Enregistrer la signature", "done": "Signature enregistrée."}}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_person_sets_their_signature(live_server, seeded, page: Page, lang):
    words = SIG[lang]
    base = live_server.url
    sign_in(page, base, "dana", lang=lang)
    page.get_by_role("link", name=words["link"]).click()
    assert _axe(page) == []
    page.locator("#id_signature_en").fill("– Dana, Passport Program")
    page.locator("#id_signature_fr").fill("– Dana, Programme de passeport")
    page.get_by_role("button", name=words["save"]).click()
    expect(page.locator("#status")).to_contain_text(words["done"])
    assert _axe(page) == []
