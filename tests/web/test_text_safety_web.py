"""The web UI: live checks are capped, every refusal is rendered from codes in the reader's
language (no English sentence on a French page), escalations read in French."""
from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from workflows import limits
from workflows.messages import CATALOGUE
from workflows.models import Post
from workflows.services import posts as post_services

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_live_checks_refuse_text_over_the_cap_before_running_any_rule(demo):
    start = time.process_time()
    response = _client(demo.dana).post(reverse("web-checks"), {
        "kind": "post", "text_en": "a" * 100_000 + "@", "text_fr": "1" * 100_000})
    assert response.status_code == 413
    assert "too long to check" in response.content.decode()
    # Work done by this process, not wall time: refusing costs next to nothing.
    assert time.process_time() - start < 5


def test_web_forms_carry_the_same_caps(demo):
    from workflows.web.forms import CommentForm, ComposeForm, ReplyForm, TranslationForm, UrgentForm

    assert ComposeForm(channel_choices=[]).fields["text_en"].max_length == limits.TEXT_MAX
    assert ReplyForm().fields["text"].max_length == limits.TEXT_MAX
    assert TranslationForm().fields["text"].max_length == limits.TEXT_MAX
    assert CommentForm().fields["comment"].max_length == limits.COMMENT_MAX
    assert UrgentForm().fields["reason"].max_length == limits.REASON_MAX
    html = _client(demo.dana).get(reverse("web-compose")).content.decode()
    assert f'maxlength="{limits.TEXT_MAX}"' in html


def _english_sentences() -> set[str]:
    """Every catalogue message in English, cut at its first parameter (what a page could show)."""
    with translation.override("en"):
        return {str(t).split("%(")[0].strip() for t in CATALOGUE.values() if len(str(t).split("%(")[0].strip()) > 12}


def test_a_refused_submit_on_a_french_page_shows_only_french(demo):
    demo.dana.preferred_language = "fr"
    demo.dana.save(update_fields=["preferred_language"])
    before = Post.objects.count()
    response = _client(demo.dana).post(reverse("web-compose"), {
        "text_en": "Write to jane@example.com or call 613-555-0199, you idiot. https://evil.example/x",
        "channels": ["dpe-en", "dpe-fr"], "submit": "1", "rules_acknowledged": "on",
    })
    html = response.content.decode()
    assert Post.objects.count() == before
    assert "Le texte en anglais semble contenir une adresse courriel." in html
    assert "Le texte en anglais semble contenir un numéro de téléphone." in html
    assert "termes interdits" in html
    leaked = [s for s in _english_sentences() if s in html]
    assert not leaked, leaked


def test_an_escalated_reply_reads_in_french(demo):
    post = post_services.post_create(author=demo.dana, channels=["dpe-en"], kind="reply",
                                     texts={"en": "We will ask the mi\u200bnister."}, rules_acknowledged=True)
    post_services.post_submit(post_id=post.id, by=demo.dana)
    demo.rami.preferred_language = "fr"
    demo.rami.save(update_fields=["preferred_language"])
    html = _client(demo.rami).get(reverse("web-post", args=[post.id])).content.decode()
    assert "Le texte en anglais mentionne\u00a0: minister." in html
    assert "The English text mentions" not in html


def test_checks_i18n_and_its_patterns_are_gone():
    import importlib.util

    assert importlib.util.find_spec("workflows.web.checks_i18n") is None


def test_a_compose_form_over_the_cap_is_refused_without_running_the_rules(demo, monkeypatch):
    from workflows import guidelines

    calls = []
    monkeypatch.setattr(guidelines, "evaluate", lambda **kw: calls.append(kw) or [])
    response = _client(demo.dana).post(reverse("web-compose"), {
        "text_en": "a" * (limits.TEXT_MAX + 1), "channels": ["dpe-en", "dpe-fr"], "rules_acknowledged": "on"})
    assert response.status_code == 200 and "error-summary" in response.content.decode()
    assert calls == []


def test_live_checks_show_the_links_the_platform_will_make_and_check_the_same_ones(demo):
    """Issue 20: the preview lists what a platform will link (bare domains, //host, backslash
    tricks included) from the extractor the rule checks with, and the rule refuses the foreign ones."""
    text = "Voir canada.ca/fr et https://evil.example\\@canada.ca/ ou //ailleurs.example/x"
    with translation.override("fr"):
        response = _client(demo.tess).post(reverse("web-checks"), {"kind": "post", "text_fr": text})
    page = response.content.decode()
    assert response.status_code == 200
    assert "la plateforme fera de ceux-ci des liens" in page
    for link in ("canada.ca/fr", "https://evil.example\\@canada.ca/", "//ailleurs.example/x"):
        assert link in page
    from workflows.services.preview import preview_checks

    preview = preview_checks(user=demo.tess, kind="post", texts={"fr": text})
    assert preview.links == {"fr": ["canada.ca/fr", "https://evil.example\\@canada.ca/", "//ailleurs.example/x"]}
    [refused] = [r for r in preview.results if r.code == "link_domains.not_allowed"]
    assert refused.params["links"] == ["https://evil.example\\@canada.ca/", "//ailleurs.example/x"]
