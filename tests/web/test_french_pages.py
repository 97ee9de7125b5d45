"""Issue 21, item 5: no English on French pages — the escalation notice's reason, the
organisation's name, the API's field errors, and the 404 page under DEBUG (`make run`)."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from accounts.models import Organisation
from accounts.services import token_issue
from tests.web.helpers import page_text as text
from tests.web.helpers import signed_in
from workflows.services import posts

pytestmark = pytest.mark.django_db


def test_the_escalation_notice_is_french_on_a_french_page(demo):
    reply = posts.post_create(author=demo.dana, kind="reply", channels=["dpe-en"], rules_acknowledged=True,
                              texts={"en": "We will ask the minister about it."})
    reply = posts.post_submit(post_id=reply.id, by=demo.dana)
    fr = text(_client(demo.dana).get(reverse("web-post", args=[reply.id])))
    escalated = fr.split("<dt>Transférée</dt>", 1)[1].split("</dd>", 1)[0]
    assert "Sujet délicat" in escalated and "Sensitive topic" not in escalated
    en = text(_client(demo.dana, "en").get(reverse("web-post", args=[reply.id])))
    assert "Sensitive topic" in en.split("<dt>Escalated</dt>", 1)[1].split("</dd>", 1)[0]


def test_the_live_check_says_why_a_reply_will_be_escalated_in_french(demo, citizen_message):
    msg = citizen_message(text="Le ministre va-t-il répondre?", channel="dpe-fr", external_id="esc-fr", language="fr")
    html = text(_client(demo.dana).post(reverse("web-checks"), {
        "kind": "reply", "in_reply_to": msg.id, "reply_language": "fr", "text": "Nous poserons la question au ministre."}))
    assert "Sujet délicat" in html and "Sensitive topic" not in html


def test_the_organisation_name_is_bilingual(demo):
    org = Organisation.objects.get(slug="dpe")
    with translation.override("fr"):
        assert org.name == "Ministère des Exemples publics"
    with translation.override("en"):
        assert org.name == "Department of Public Examples"


def test_api_field_errors_are_in_the_readers_language(demo):
    _token, key = token_issue(user=demo.dana)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = api.post("/api/v1/posts/", {"kind": "post", "channels": ["dpe-en"], "texts": {"en": "Hi"},
                                       "colour": "blue"}, format="json", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["errors"]["colour"] == ["Champ inconnu."]
    body = api.post("/api/v1/posts/", {"kind": "post", "colour": "blue"}, format="json",
                    HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["errors"]["colour"] == ["Unknown field."]


def test_another_organisations_post_is_the_projects_404_page_even_under_debug(demo, settings):
    settings.DEBUG = True
    theirs = posts.post_create(author=demo.omar, kind="post", channels=["other-en"], texts={"en": "Ours."},
                               rules_acknowledged=True)
    response = _client(demo.dana).get(reverse("web-post", args=[theirs.id]))
    assert response.status_code == 404
    html = text(response)
    assert "Nous n'avons pas trouvé cette page" in html and '<html lang="fr">' in html
    assert "URLconf" not in html and "technical" not in html.lower()
    assert _client(demo.dana).get(reverse("web-inbound", args=[999999])).status_code == 404


def _client(user, lang="fr"):
    return signed_in(user, lang)
