"""Outside approvers and translation bureaus in the web UI: invite and revoke on the post page,
the page behind a link (no account), refusals with a clear bilingual page and no change, rate
limit (429), never indexable; and a real Chromium walk in English and French with axe-core."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.workflows import factories as f
from workflows.models import AuditEvent, Decision, OutsideInvitation, Post
from workflows.services import outside_review as outside
from workflows.services import reviews, translations

from .test_browser import _axe, sign_in


@pytest.fixture(autouse=True)
def _fresh_link_counters(monkeypatch):
    """The limiter's counters live in the shared cache (Redis): each test gets empty ones."""
    from workflows.web import outside as web_outside

    monkeypatch.setattr(web_outside, "cache", LocMemCache(f"outside-{uuid.uuid4()}", {}))


def _invite(demo, post, **kw):
    kw.setdefault("email", "legal@firm.example")
    kw.setdefault("languages", ["en"])
    return outside.invitation_create(post_id=post.id, by=kw.pop("by", demo.rami), **kw)


def _state(post_id):
    post = Post.objects.get(id=post_id)
    return (post.state, post.version, post.audit_seq, Decision.objects.filter(post_id=post_id).count(),
            sorted(OutsideInvitation.objects.filter(post_id=post_id).values_list("used_at", "revoked_at")))


def _assert_private(r):
    assert r["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    assert r["Referrer-Policy"] == "no-referrer"
    assert "no-store" in r["Cache-Control"]
    assert "Content-Security-Policy" in r and "unsafe-inline" not in r["Content-Security-Policy"].split("style-src")[0]
    page = r.content.decode()
    assert '<meta name="robots" content="noindex, nofollow, noarchive">' in page
    assert '<meta name="referrer" content="no-referrer">' in page


@pytest.mark.django_db
def test_staff_invite_and_revoke_on_the_post_page(client, demo, django_capture_on_commit_callbacks):
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    client.force_login(demo.dana)
    assert "outside-h" not in client.get(f"/posts/{post.id}/").content.decode()  # no permission, nothing sent
    r = client.post(f"/posts/{post.id}/invitations/", {"email": "x@y.example", "languages": ["en"]}, follow=True)
    assert "You may not invite people from outside" in r.content.decode()
    assert not OutsideInvitation.objects.exists()
    client.force_login(demo.rami)
    assert "Invite someone from outside for this step" in client.get(f"/posts/{post.id}/").content.decode()
    r = client.post(f"/posts/{post.id}/invitations/", {"email": "nope", "languages": ["en"]}, follow=True)
    assert "E-mail address:" in r.content.decode() and not OutsideInvitation.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/posts/{post.id}/invitations/", {"email": "Legal@Firm.example", "languages": ["fr"]}, follow=True)
    page = r.content.decode()
    assert "Invitation sent to legal@firm.example." in page and "legal@firm.example" in page
    assert len(mail.outbox) == 1 and "http://testserver/o/" in mail.outbox[0].body
    inv = OutsideInvitation.objects.get()
    r = client.post(f"/invitations/{inv.id}/revoke/", {"next": f"/posts/{post.id}/"}, follow=True)
    assert "Link revoked: legal@firm.example can no longer use it." in r.content.decode()
    assert OutsideInvitation.objects.get().revoked_at is not None
    client.cookies["django_language"] = "fr"
    assert "Personnes de l’extérieur" in client.get(f"/posts/{post.id}/").content.decode()


@pytest.mark.django_db
def test_the_page_shows_only_the_scoped_languages_and_records_the_decision(client, demo):
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    inv, token = _invite(demo, post, languages=["fr"])
    r = client.get(f"/o/{token}/")
    assert r.status_code == 200
    _assert_private(r)
    page = r.content.decode()
    assert "Notre bureau rouvre lundi" in page and "Our office reopens" not in page
    assert "dana" not in page.lower()  # nothing of the organisation's people
    r = client.post(f"/o/{token}/", {"version": post.version, "comment": "Bon pour moi.", "approve": ""})
    assert r.status_code == 200 and "Thank you: your decision is recorded" in r.content.decode()
    _assert_private(r)
    assert Decision.objects.filter(post=post, reviewer=inv.actor, comment="Bon pour moi.").exists()
    ev = AuditEvent.objects.get(post=post, verb="outside_decided")
    assert ev.data["email"] == "legal@firm.example"
    client.force_login(demo.rami)
    assert "Decided by link sent to legal@firm.example" in client.get(f"/posts/{post.id}/").content.decode()


@pytest.mark.django_db
def test_the_tracker_says_the_step_still_waits_for_french_after_an_english_only_link(client, demo):
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    inv, token = _invite(demo, post, languages=["en"])
    r = client.post(f"/o/{token}/", {"version": post.version, "approve": ""})
    assert r.status_code == 200
    client.force_login(demo.rami)

    def tracker(lang):
        client.cookies["django_language"] = lang
        html = client.get(f"/posts/{post.id}/").content.decode()
        return html[html.index('id="tracker"'):html.index("</section>", html.index('id="tracker"'))]

    en = tracker("en")
    assert "Step 1 of 3" in en and "Still waiting for an approval of: French." in en
    # Named by the address the link went to, not the stand-in account's internal "outside-3ada…"
    # name (issues 20, 21); not "French v1": it never counted for it.
    assert f"approved by {inv.email} (outside) on English v1<" in en and "outside-" not in en
    assert "En attente d&#x27;une approbation pour\u00a0: français." in tracker("fr")
    reviews.post_approve(post_id=post.id, by=demo.rami)
    en = tracker("en")
    assert "Step 2 of 3" in en and "Still waiting" not in en


@pytest.mark.django_db
def test_a_bureau_writes_its_language_only(client, demo):
    post = f.at_translation(demo)
    inv, token = _invite(demo, post, email="bureau@translate.example", languages=["fr"], can_edit=True)
    page = client.get(f"/o/{token}/").content.decode()
    assert 'name="text_fr"' in page and 'name="text_en"' not in page
    before = _state(post.id)
    # A field for an unscoped language is ignored; with no French the step cannot complete (422).
    r = client.post(f"/o/{token}/", {"version": post.version, "text_en": "Hijacked", "approve": ""})
    assert r.status_code == 422 and "text missing in French" in r.content.decode()
    assert _state(post.id) == before and Post.objects.get(id=post.id).texts_dict()["en"] == f.EN
    r = client.post(f"/o/{token}/", {"version": post.version, "text_fr": f.FR, "approve": ""})
    assert r.status_code == 200, r.content.decode()[:2000]
    post.refresh_from_db()
    assert post.texts_dict()["fr"] == f.FR and post.current_step.kind == "sign_off"
    assert before != _state(post.id)


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["tampered", "used", "expired", "revoked", "text_changed", "step_left"])
def test_refused_links_get_a_clear_bilingual_page_and_change_nothing(client, demo, case):
    post = f.at_translation(demo)
    inv, token = _invite(demo, post, languages=["en"])
    expected = {"tampered": 403, "used": 410, "expired": 410, "revoked": 410, "text_changed": 410, "step_left": 410}[case]
    words = {"tampered": "not valid", "used": "used already", "expired": "expired", "revoked": "withdrawn",
             "text_changed": "no longer applies", "step_left": "no longer applies"}[case]
    if case == "tampered":
        token = token[:10] + ("a" if token[10] != "a" else "b") + token[11:]
    elif case == "used":
        outside.invitation_decide(token=token, verdict="request_changes", comment="Source unclear.")
    elif case == "revoked":
        outside.invitation_revoke(invitation_id=inv.id, by=demo.cora)
    elif case == "text_changed":
        translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR)
    elif case == "step_left":
        reviews.post_request_changes(post_id=post.id, by=demo.tess, comment="Source unclear.")
    before = _state(post.id)
    travel = timezone.now() + timedelta(hours=80 if case == "expired" else 0)
    with time_machine.travel(travel):
        for method in ("get", "post"):
            r = getattr(client, method)(f"/o/{token}/", {"version": 1, "comment": "ok", "approve": ""} if method == "post" else None)
            assert r.status_code == expected, (case, method, r.status_code)
            page = r.content.decode()
            assert words in page and 'lang="fr"' in page  # both languages
            assert "This link cannot be used" in page
            _assert_private(r)
    assert _state(post.id) == before
    client.cookies["django_language"] = "fr"
    with time_machine.travel(travel):
        page = client.get(f"/o/{token}/").content.decode()
    assert "Ce lien ne peut pas servir" in page


@pytest.mark.django_db
@override_settings(OUTSIDE_LINK_RATE_PER_LINK=3, OUTSIDE_LINK_RATE_PER_IP=5)
def test_rate_limited_per_link_and_per_address(client, demo):
    post = f.at_review(demo)
    _, token = _invite(demo, post)
    assert [client.get(f"/o/{token}/").status_code for _ in range(4)] == [200, 200, 200, 429]
    r = client.post(f"/o/{token}/", {"version": post.version, "approve": ""})
    assert r.status_code == 429 and r["Retry-After"] and "Too many attempts" in r.content.decode()
    _assert_private(r)
    assert Decision.objects.filter(post=post).count() == 0
    # Guessing other links from the same address is limited too.
    assert client.get("/o/" + "b" * 43 + "/").status_code == 429


WORDS = {
    "en": {"invite": "Send the link", "email": "E-mail address", "english": "English", "french": "French", "sent": "Invitation sent to",
           "approve": "Approve", "done": "Thank you: your decision is recorded", "comment": "Comment",
           "used": "This link cannot be used"},
    "fr": {"invite": "Envoyer le lien", "email": "Adresse courriel", "english": "Anglais", "french": "Français", "sent": "Invitation envoyée à",
           "approve": "Approuver", "done": "Merci\u00a0: votre décision est enregistrée", "comment": "Commentaire",
           "used": "Ce lien ne peut pas servir"},
}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_invite_then_the_outsider_decides_in_chromium(live_server, seeded, page: Page, browser, lang):
    words = WORDS[lang]
    post = f.at_review(seeded, texts={"en": f.EN, "fr": f.FR})
    base = live_server.url
    sign_in(page, base, "rami", lang=lang)
    page.goto(f"{base}/posts/{post.id}/")
    section = page.locator("section.outside")
    section.get_by_label(words["email"]).fill("expert@university.example")
    section.get_by_label(words["english"], exact=True).check()
    section.get_by_label(words["french"], exact=True).uncheck()
    section.get_by_role("button", name=words["invite"]).click()
    expect(page.locator("#status")).to_contain_text(words["sent"])
    assert _axe(page) == []
    (msg,) = [m for m in mail.outbox if "expert@university.example" in m.to]
    link = re.search(r"http://\S+/o/[A-Za-z0-9_-]{43}/", msg.body).group(0)
    outsider = browser.new_context(bypass_csp=True, locale="fr-CA" if lang == "fr" else "en-CA")
    opage = outsider.new_page()
    r = opage.goto(link)
    assert r.status == 200 and r.headers["x-robots-tag"] == "noindex, nofollow, noarchive"
    expect(opage.locator("#main-content")).to_contain_text("Our office reopens")
    expect(opage.locator("#main-content")).not_to_contain_text("Notre bureau")
    assert _axe(opage) == []
    opage.set_viewport_size({"width": 375, "height": 800})
    wide = opage.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 10)""")
    assert opage.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
    opage.get_by_label(words["comment"]).fill("Fine by me." if lang == "en" else "Ça me va.")
    opage.get_by_role("button", name=words["approve"], exact=True).focus()
    opage.keyboard.press("Enter")
    expect(opage.locator("h1")).to_contain_text(words["done"])
    assert _axe(opage) == []
    r = opage.goto(link)
    assert r.status == 410
    expect(opage.locator("h1")).to_contain_text(words["used"])
    assert _axe(opage) == []
    outsider.close()
    assert Decision.objects.filter(post=post, reviewer__email="expert@university.example").count() == 1


@pytest.mark.django_db
def test_the_admin_lists_links_without_their_hash_and_revokes_them(client, demo):
    post = f.at_review(demo)
    inv, token = _invite(demo, post)
    client.force_login(demo.admin)
    page = client.get("/admin/workflows/outsideinvitation/").content.decode()
    assert "legal@firm.example" in page
    detail = client.get(f"/admin/workflows/outsideinvitation/{inv.id}/change/").content.decode()
    assert inv.token_hash not in detail and token not in detail
    r = client.post("/admin/workflows/outsideinvitation/", {"action": "revoke_links", "_selected_action": [inv.id]}, follow=True)
    assert "1 links revoked." in r.content.decode()
    assert OutsideInvitation.objects.get().revoked_by_id == demo.admin.id
    assert AuditEvent.objects.filter(post=post, verb="outside_revoked", actor_id=demo.admin.id).exists()


@pytest.mark.django_db
def test_links_stay_out_of_the_logs(client, demo, caplog):
    import logging

    from config.logging import RedactLinksFilter

    post = f.at_review(demo)
    _, token = _invite(demo, post)
    outside.invitation_revoke(invitation_id=OutsideInvitation.objects.get().id, by=demo.cora)
    from django.conf import settings

    assert "redact_links" in settings.LOGGING["handlers"]["console"]["filters"]
    handler_filter = RedactLinksFilter()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(f"/o/{token}/").status_code == 410
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records
    for record in records:
        handler_filter.filter(record)
        assert token not in record.getMessage() and token not in str(getattr(record, "request", ""))


@pytest.mark.django_db
def test_a_stale_page_is_a_409_with_no_change(client, demo):
    post = f.at_review(demo)
    _, token = _invite(demo, post)
    before = _state(post.id)
    r = client.post(f"/o/{token}/", {"version": post.version - 1, "comment": "ok", "approve": ""})
    assert r.status_code == 409 and "changed since you loaded it" in r.content.decode()
    _assert_private(r)
    assert _state(post.id) == before
    r = client.post(f"/o/{token}/?lang=fr", {"version": post.version, "comment": "", "request_changes": ""})
    assert r.status_code == 400 and "Précisez ce qui doit changer." in r.content.decode()
    assert _state(post.id) == before
