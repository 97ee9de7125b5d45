"""Hard caps on text at every API entry point (422 `text_too_long`), and problem details in the
reader's language with stable codes."""
from __future__ import annotations

import pytest

from workflows import limits
from workflows.models import InboundMessage, Post

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

OVER = "x" * (limits.TEXT_MAX + 1)


def _too_long(response, field):
    body = assert_problem(response, 422, field=field)
    assert body["type"] == "urn:parley:problem:text_too_long"
    assert body["code"] == "text.too_long"
    assert body["params"]["limit"] > 0
    assert "at most" in body["detail"] or "la limite est de" in body["detail"]  # tess reads French
    return body


def test_create_refuses_a_text_over_the_cap(client_for):
    count = Post.objects.count()
    body = _too_long(client_for("dana").post("/api/v1/posts/", {
        "kind": "post", "channels": ["dpe-en", "dpe-fr"], "texts": {"en": OVER}}, format="json"), "texts")
    assert body["params"] == {"length": limits.TEXT_MAX + 1, "limit": limits.TEXT_MAX}
    assert Post.objects.count() == count


def test_edit_translation_comment_reason_and_inbound_are_capped(client_for, flow):
    draft = flow.draft()
    _too_long(client_for("dana").patch(f"/api/v1/posts/{draft.id}/", {"texts": {"fr": OVER}}, format="json"), "texts")
    at_translation = flow.at_translation()
    _too_long(client_for("tess").put(f"/api/v1/posts/{at_translation.id}/translations/fr/", {"text": OVER},
                                     format="json"), "text")
    in_review = flow.in_review()
    long_comment = "c" * (limits.COMMENT_MAX + 1)
    _too_long(client_for("rami").post(f"/api/v1/posts/{in_review.id}/approve/", {"comment": long_comment},
                                      format="json"), "comment")
    _too_long(client_for("rami").post(f"/api/v1/posts/{in_review.id}/request-changes/", {"comment": long_comment},
                                      format="json"), "comment")
    _too_long(client_for("uma").post(f"/api/v1/posts/{in_review.id}/publish-urgent/",
                                     {"reason": "r" * (limits.REASON_MAX + 1)}, format="json"), "reason")
    _too_long(client_for("dana").post("/api/v1/inbound/", {
        "channel": "dpe-en", "external_id": "big-1", "author": "@x", "text": "y" * (limits.INBOUND_TEXT_MAX + 1)},
        format="json"), "text")
    assert not InboundMessage.objects.filter(external_id="big-1").exists()
    assert Post.objects.get(id=in_review.id).version == in_review.version


def test_the_cap_itself_is_accepted(client_for):
    # A text exactly at the cap passes the cap (and then meets the channel's length rule).
    response = client_for("dana").post("/api/v1/posts/", {
        "kind": "post", "channels": ["dpe-en", "dpe-fr"], "texts": {"en": "x" * limits.TEXT_MAX}}, format="json")
    body = assert_problem(response, 422)
    assert body["type"] == "urn:parley:problem:guideline_violation"
    assert [v["code"] for v in body["violations"]] == ["length.over"]


# --- the reader's language -------------------------------------------------------------------

def _guideline_problem(client, **extra):
    return client.post("/api/v1/posts/", {
        "kind": "reply", "lane": "conversation", "channels": ["dpe-en"], "rules_acknowledged": True,
        "texts": {"en": "Call 613-555-0199."}}, format="json", **extra)


def test_accept_language_fr_gives_french_problem_details_with_the_same_codes(client_for):
    en = assert_problem(_guideline_problem(client_for("dana")), 422)  # dana saved English
    client = client_for("dana")
    fr = assert_problem(_guideline_problem(client, QUERY_STRING="lang=fr"), 422)
    assert (en["type"], en["code"], [v["code"] for v in en["violations"]]) == (
        fr["type"], fr["code"], [v["code"] for v in fr["violations"]])
    assert en["title"] == "Guideline violation" and fr["title"] == "Infraction aux lignes directrices"
    assert en["violations"][0]["message"] == "The English text seems to contain a phone number."
    assert fr["violations"][0]["message"] == "Le texte en anglais semble contenir un numéro de téléphone."
    assert fr["detail"] == fr["violations"][0]["message"]
    assert fr["errors"]["texts.en"] == [fr["violations"][0]["message"]]


def test_saved_language_wins_over_accept_language_and_lang_wins_over_both(client_for, demo):
    demo.dana.preferred_language = ""
    demo.dana.save(update_fields=["preferred_language"])
    dana = client_for("dana")
    assert assert_problem(_guideline_problem(dana, HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9"), 422)["title"] == (
        "Infraction aux lignes directrices")
    # tess saved French: an English browser does not change that; ?lang=en does.
    tess = client_for("tess")
    body = assert_problem(tess.get("/api/v1/posts/999999999/", HTTP_ACCEPT_LANGUAGE="en"), 404)
    assert (body["title"], body["detail"], body["code"]) == ("Introuvable", "Cette publication n'existe pas.",
                                                             "not_found.post")
    body = assert_problem(tess.get("/api/v1/posts/999999999/", {"lang": "en"}), 404)
    assert (body["title"], body["detail"], body["code"]) == ("Not found", "There is no such post.", "not_found.post")


def test_service_errors_carry_code_and_params_in_every_language(client_for, flow):
    post = flow.in_review()
    stale = {"HTTP_IF_MATCH": 'W/"1"'}
    en = assert_problem(client_for("rami").post(f"/api/v1/posts/{post.id}/approve/", {}, format="json", **stale), 409)
    fr = assert_problem(client_for("rami").post(f"/api/v1/posts/{post.id}/approve/?lang=fr", {}, format="json",
                                                **stale), 409)
    assert en["code"] == fr["code"] == "stale_version"
    assert en["params"] == fr["params"] == {"given": 1, "current": post.version}
    assert en["type"].endswith("stale_version") and fr["type"] == en["type"]
    assert "changed since you loaded it" in en["detail"]
    assert "a changé depuis que vous l'avez ouverte" in fr["detail"] and fr["title"] == "Conflit"


def test_checks_on_a_post_are_codes_rendered_for_the_reader(client_for, flow):
    post = flow.draft()
    en = client_for("dana").get(f"/api/v1/posts/{post.id}/").json()["checks"]
    fr = client_for("dana").get(f"/api/v1/posts/{post.id}/?lang=fr").json()["checks"]
    assert [c["code"] for c in en] == [c["code"] for c in fr]
    assert {c["code"] for c in en} >= {"length.ok", "personal_data.ok", "four_rules.ok"}
    by_code = {c["code"]: (c["message"], f["message"]) for c, f in zip(en, fr, strict=True)}
    assert by_code["personal_data.ok"] == ("No personal data found.", "Aucun renseignement personnel trouvé.")


def test_every_api_view_answers_in_the_readers_language():
    from django.urls import get_resolver

    from workflows.api.language import ReaderLanguageMixin

    seen = 0
    for pattern in get_resolver().url_patterns:
        for sub in getattr(pattern, "url_patterns", []) or [pattern]:
            for p in getattr(sub, "url_patterns", []) or [sub]:
                view = getattr(p.callback, "cls", None)
                module = getattr(view, "__module__", "")
                if view is not None and module.startswith("workflows.api"):
                    assert issubclass(view, ReaderLanguageMixin), view
                    seen += 1
    assert seen >= 9
