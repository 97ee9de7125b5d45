"""Reading the approval state (issue 11): the tracker, the warning before voiding approvals and
the account after, the reviewer's requested changes at the top of the edit form, agreement of
the state badge in French, only the languages a post needs, and no "approved by" its own author."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import page_text as text
from tests.web.helpers import signed_in as _client
from workflows.services import posts as post_services
from workflows.services import reviews, translations

pytestmark = pytest.mark.django_db


def _sent_back_at_sign_off(demo):
    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     texts={"en": "The office reopens on Monday."}, rules_acknowledged=True)
    post = post_services.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami, comment="Fine.")
    translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text="Le bureau rouvre lundi.")
    reviews.post_approve(post_id=post.id, by=demo.tess)
    return reviews.post_request_changes(post_id=post.id, by=demo.cora, comment="Give the opening hour, please.")


def test_tracker_shows_every_step_its_team_who_approved_which_version_and_what_is_next(demo):
    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     texts={"en": "The office reopens on Monday."}, rules_acknowledged=True)
    post = post_services.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    html = text(_client(demo.tess, "fr").get(reverse("web-post", args=[post.id])))
    tracker = html[html.index('id="tracker"'):html.index("</section>", html.index('id="tracker"'))]
    assert "Étape 2 sur 3\u00a0: Traduction" in tracker and "Suivante\u00a0: Approbation finale (Communications)." in tracker
    assert "Examen</span> (<span class=\"tracker__team\">Gestionnaires</span>)" in tracker and "approuvée par rami sur anglais v1" in tracker
    assert 'aria-current="step"' in tracker and "échéance" in tracker
    queue = text(_client(demo.tess, "fr").get(reverse("web-queue")))
    assert "Étape 2 sur 3\u00a0: Traduction (Équipe de traduction)" in queue


def test_edit_form_warns_before_voiding_and_the_page_after_says_what_happened(demo):
    post = _sent_back_at_sign_off(demo)
    dana = _client(demo.dana, "fr")
    html = text(dana.get(reverse("web-post", args=[post.id])))
    edit = html[html.index('id="edit-h"'):]
    # The reviewer's requested changes come first, above the form.
    assert edit.index('id="change-request"') < edit.index("<form")
    assert "cora a demandé des modifications à l'étape « Approbation finale »" in edit
    assert "Give the opening hour, please." in edit
    warning = edit[edit.index('id="void-warning"'):edit.index("<form")]
    assert "le texte anglais" in warning and "approbation de rami (Examen)" in warning
    assert "approbation de tess (Traduction)" in warning
    assert "À refaire\u00a0: Examen (Gestionnaires), Traduction (Équipe de traduction)." in warning
    response = dana.post(reverse("web-post-action", args=[post.id, "edit"]), {
        "version": post.version, "text_en": "The office reopens on Monday at 9:00.",
        "text_fr": "Le bureau rouvre lundi.", "rules_acknowledged": "on", "submit": "1"}, follow=True)
    after = text(response)
    assert "message--warning" in after
    assert ("Cette modification a annulé 2 approbations\u00a0: rami (Examen), tess (Traduction). "
            "La publication est revenue à l'étape « Examen » (Gestionnaires).") in after


def test_french_badge_agrees_english_reply_has_no_french_panel_and_no_self_approval(demo, citizen_message):
    msg = citizen_message(external_id="agree-1")
    reply = post_services.post_create(author=demo.dana, kind="reply", in_reply_to=msg.id, rules_acknowledged=True,
                                      texts={"en": "Thank you, the office opens at 9:00 on Monday."})
    reply = post_services.post_submit(post_id=reply.id, by=demo.dana)
    html = text(_client(demo.dana, "fr").get(reverse("web-post", args=[reply.id])))
    h1 = html[html.index("<h1>"):html.index("</h1>")]
    assert "Réponse" in h1 and ("Approuvée" in h1 or "Publiée" in h1 or "En cours de publication" in h1)
    assert 'id="text-fr-h"' not in html and "Pas encore rédigé" not in html
    assert 'id="text-en-h"' in html
    timeline = html.split('class="timeline"')[1]
    assert "Entièrement approuvée" not in timeline
    assert "Approuvée à la soumission\u00a0: cette voie n'a pas d'étape d'approbation" in html
