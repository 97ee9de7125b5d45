"""Bilingual names (issue 11): lanes, steps, teams, holding replies and channels have an English
and a French name (django-modeltranslation), shown in the reader's language."""
from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import translation

from accounts.models import Team
from workflows.models import Channel, HoldingReply, Lane, LaneStep

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


def test_migration_copies_existing_names_into_english(demo):
    team = Team.objects.get(slug="managers", organisation__slug="dpe")
    lane = demo.lane("official")
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_team SET name_en = NULL, name = 'Old managers' WHERE id = %s", [team.id])
        cur.execute("UPDATE workflows_lane SET name_en = NULL, name = 'Old official' WHERE id = %s", [lane.id])
    # The migration runs on historical models (plain managers, no language rewriting).
    loader = MigrationLoader(connection)
    for app, name in (("accounts", "0002_team_bilingual_names"), ("workflows", "0003_bilingual_names")):
        state = loader.project_state((app, name))
        importlib.import_module(f"{app}.migrations.{name}").copy_names_to_english(state.apps, None)
    assert Team.objects.get(id=team.id).name_en == "Old managers"
    assert Lane.objects.get(id=lane.id).name_en == "Old official"
    assert LaneStep.objects.filter(name_en__isnull=True).count() == 0


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
