"""Bilingual names (issue 11): lanes, steps, teams, holding replies and channels have an English
and a French name (django-modeltranslation), shown in the reader's language."""
from __future__ import annotations

import pytest
from django.utils import translation

from workflows.models import Channel, HoldingReply

pytestmark = pytest.mark.django_db


def test_names_follow_the_active_language_and_fall_back_to_english(demo):
    step = demo.lane("official").steps.get(order=1)
    with translation.override("fr"):
        assert (step.name, step.team.name) == ("Examen", "Gestionnaires")
        assert demo.lane("official").name == "Officielle"
        assert Channel.objects.get(slug="dpe-fr").name == "MEP (français)"
        assert HoldingReply.objects.filter(name_en="Contact us privately").get().name == "Écrivez-nous en privé"
    with translation.override("en"):
        assert (step.name, step.team.name) == ("Review", "Managers")
    step.name_fr = None
    with translation.override("fr"):
        assert step.name == "Review"  # no French name yet: the English one, never an empty cell


def test_api_gives_the_english_name_and_the_readers_in_name_display(client_for):
    client = client_for("dana")
    fr = client.get("/api/v1/lanes/", HTTP_ACCEPT_LANGUAGE="fr", QUERY_STRING="lang=fr").json()["results"]
    official = next(lane for lane in fr if lane["slug"] == "official")
    assert (official["name"], official["name_display"], official["name_fr"]) == ("Official", "Officielle", "Officielle")
    step = official["steps"][0]
    assert (step["name"], step["name_display"], step["team_display"]) == ("Review", "Examen", "Gestionnaires")
    en = client.get("/api/v1/lanes/", HTTP_ACCEPT_LANGUAGE="en", QUERY_STRING="lang=en").json()["results"]
    assert next(la for la in en if la["slug"] == "official")["steps"][0]["name_display"] == "Review"
    chans = client.get("/api/v1/channels/", HTTP_ACCEPT_LANGUAGE="fr", QUERY_STRING="lang=fr").json()["results"]
    assert chans[0]["name"] == "DPE (English)" and chans[0]["name_display"] == "MEP (anglais)"


def test_the_audit_records_the_stable_english_step_name_whoever_acts(demo):
    from workflows.models import AuditEvent
    from workflows.services.posts import post_create, post_submit
    from workflows.services.reviews import post_approve

    post = post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                       texts={"en": "Hours change on Monday."}, rules_acknowledged=True)
    with translation.override("fr"):
        post_submit(post_id=post.id, by=demo.dana)
        post_approve(post_id=post.id, by=demo.rami)
    steps = list(AuditEvent.objects.filter(post=post, verb__in=["step_entered", "approved"])
                 .order_by("seq").values_list("data__step", flat=True))
    assert steps == ["Review", "Review", "Translation"]
