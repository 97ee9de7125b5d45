"""The smaller things a first morning trips on (issue 21, item 7)."""
from __future__ import annotations

from html import unescape

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from tests.web.helpers import signed_in as _client
from workflows.services import posts as post_services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("lang", "word"), [("en", "Warning"), ("fr", "Avertissement")])
def test_a_warning_does_not_look_like_a_blocker(lang, word):
    checks = [{"ok": False, "severity": "warn", "rule": "forbidden_terms", "text": "meh", "language": "en"},
              {"ok": False, "severity": "block", "rule": "personal_data", "text": "phone", "language": "en"}]
    with translation.override(lang):
        html = render_to_string("web/partials/checks.html", {"checks": checks, "preview": {"lengths": {}}})
    warn, block = html.split('<li class="warn">')[1], html.split('<li class="bad">')[1]
    assert "⚠" in warn and "✗" not in warn.split("</li>")[0] and word in warn
    assert "✗" in block


def test_a_signature_over_the_cap_is_refused_with_words_not_cut_silently(demo):
    client = _client(demo.dana)
    page = client.get("/signature/").content.decode()
    assert 'maxlength="100"' not in page  # a browser would cut a paste silently
    assert "At most 100 characters." in page
    r = client.post("/signature/", {"signature_en": "x" * 225, "signature_fr": ""})
    assert r.status_code == 200
    assert "at most 100 characters (it has 225)" in unescape(r.content.decode())
    demo.dana.refresh_from_db()
    assert demo.dana.signature_en == ""


def test_the_urgent_publisher_is_told_a_retrospective_review_opened(demo, embedded):
    post = post_services.post_create(author=demo.uma, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=True,
                                     texts={"en": "Boil-water advisory lifted.", "fr": "L'avis d'ébullition est levé."})
    client = _client(demo.uma)
    r = client.post(f"/posts/{post.id}/urgent/", {"version": post.version, "reason": "Public health."}, follow=True)
    assert r.status_code == 200
    assert "A review after the fact is open: Communications will check this urgent publication." in unescape(
        r.content.decode())
