"""Notifications, SLA sweeps, spot-check sampling, webhooks and the embedded mode, in-process."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from workflows.constants import PostState, ReviewKind
from workflows.models import AuditEvent, OutboxEvent, Post, PostReview, WebhookSubscription
from workflows.services import notifications
from workflows.services.reviews import post_request_changes

from . import flows
from .platform import valid_signature
from .test_delivery import drain

pytestmark = pytest.mark.django_db


def test_step_team_is_emailed_in_each_members_language(demo, webhook_channels):
    flows.official(demo)
    drain()
    by_to = {m.to[0]: m for m in mail.outbox}
    assert set(by_to) == {"rami@dpe.example", "tess@dpe.example", "cora@dpe.example", "dana@dpe.example"}
    tess = by_to["tess@dpe.example"]
    assert tess.subject.startswith("[Parley] À vous") and tess.extra_headers["Content-Language"] == "fr"
    assert "Commentaire de Rami" in tess.body and "Good to go." in tess.body
    assert "The office will be closed on Monday." in tess.body
    assert by_to["rami@dpe.example"].subject.startswith('[Parley] Your turn: "Review"')
    # Step and team names are in each recipient's language (bilingual names, issue 11).
    assert tess.subject.startswith("[Parley] À vous : « Traduction »"), tess.subject


def test_author_hears_about_changes_requested(demo):
    from workflows.services.posts import post_create, post_submit

    post = post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                       texts={"en": "New hours at the passport office."}, rules_acknowledged=True)
    post_submit(post_id=post.id, by=demo.dana)
    post_request_changes(post_id=post.id, by=demo.rami, comment="Add the address, please.")
    drain()
    (to_dana,) = [m for m in mail.outbox if m.to == ["dana@dpe.example"]]
    assert "Changes requested" in to_dana.subject and "Add the address, please." in to_dana.body


def _in_review(demo):
    from workflows.services.posts import post_create, post_submit

    post = post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                       texts={"en": "Consultation opens next week."}, rules_acknowledged=True)
    return post_submit(post_id=post.id, by=demo.dana)


def test_step_email_shows_the_due_time(demo):
    _in_review(demo)
    drain()
    (to_rami,) = mail.outbox
    assert "step, due " in to_rami.body


def test_sla_reminder_then_escalation_each_once(demo):
    post = _in_review(demo)
    entered = post.step_entered_at  # review step: SLA 4 h, reminder after 3 h
    assert notifications.sla_sweep(now=entered + timedelta(hours=1)) == {"reminders": 0, "escalations": 0}
    assert notifications.sla_sweep(now=entered + timedelta(hours=3, minutes=1)) == {"reminders": 1, "escalations": 0}
    assert notifications.sla_sweep(now=entered + timedelta(hours=3, minutes=30)) == {"reminders": 0, "escalations": 0}
    assert notifications.sla_sweep(now=entered + timedelta(hours=4, minutes=1)) == {"reminders": 0, "escalations": 1}
    assert notifications.sla_sweep(now=entered + timedelta(hours=9)) == {"reminders": 0, "escalations": 0}
    assert AuditEvent.objects.filter(post=post, verb__in=["sla_reminder", "sla_overdue"]).count() == 2
    mail.outbox.clear()
    drain()
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["rami@dpe.example"].startswith("[Parley] Reminder")
    # No escalation team on the step: the lane's retrospective team (communications) hears.
    assert subjects["cora@dpe.example"].startswith("[Parley] Overdue")


def test_spot_check_sampling_is_deterministic(demo, webhook_channels):
    lane = demo.lane("conversation")
    lane.spot_check_rate = "0.500"
    lane.save(update_fields=["spot_check_rate"])
    posts = [flows.reply(demo, text=f"Thank you, we answered question {i} on our site.") for i in range(12)]
    drain()
    assert all(Post.objects.get(id=p.id).state == PostState.PUBLISHED for p in posts)
    expected = sorted(p.id for p in posts if notifications.spot_check_sampled(p.id, 0.5))
    assert 0 < len(expected) < 12
    assert sorted(notifications.spot_check_sample()) == expected
    assert notifications.spot_check_sample() == []  # re-running does not resample
    assert sorted(PostReview.objects.filter(kind=ReviewKind.SPOT_CHECK).values_list("post_id", flat=True)) == expected
    # The lane's retrospective team (communications: cora) is asked to look, once per sampled post.
    mail.outbox.clear()
    drain()
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"[Parley] Review after publishing: post #{pid}" for pid in expected)
    assert {m.to[0] for m in mail.outbox} == {"cora@dpe.example"}


def test_webhooks_are_signed_filtered_and_retried(demo, platform, webhook_channels, settings):
    settings.PUBLISH_BACKOFF_BASE = 60
    WebhookSubscription.objects.create(organisation=demo.dana.organisation, url=f"{platform.url}/hooks",
                                       secret="s3cret", events=["post.approved", "post.published"])
    platform.path_status["/hooks"] = 503
    post = flows.reply(demo)
    drain()
    deliveries = OutboxEvent.objects.filter(topic="webhook.deliver")
    assert sorted(d.payload["topic"] for d in deliveries) == ["post.approved", "post.published"]
    assert all(d.dispatched_at is None and "HTTP 503" in d.last_error for d in deliveries)
    platform.path_status.clear()
    drain()  # not due yet: backoff
    assert len(platform.posts("/hooks")) == 2
    drain(now=timezone.now() + timedelta(minutes=5))
    ok = platform.posts("/hooks")[2:]
    assert sorted(r["headers"]["X-Parley-Event"] for r in ok) == ["post.approved", "post.published"]
    for r in ok:
        assert valid_signature("s3cret", r["body"], r["headers"]["X-Parley-Signature"])
        assert json.loads(r["body"])["post_id"] == post.id
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_publishes_within_the_request(demo, settings, tmp_path):
    """No broker: the relay runs in-process after commit; approved → published at once."""
    from config.celery import app

    settings.CELERY_BROKER_URL = ""
    settings.PUBLISH_LOG_PATH = str(tmp_path / "publications.log")
    app.conf.task_always_eager = True
    try:
        post = flows.reply(demo)
    finally:
        app.conf.task_always_eager = False
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    lines = [json.loads(x) for x in (tmp_path / "publications.log").read_text().splitlines()]
    assert [x["text"] for x in lines] == ["Thank you for asking: the office opens at 9:00."]
    assert post.publications.get().url.startswith("https://example.invalid/dpe-en/")


def test_urgent_publishing_asks_the_retrospective_team(demo, webhook_channels):
    from workflows.services.posts import post_create, post_publish_urgent

    post = post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post", rules_acknowledged=True,
                       texts={"en": "Boil-water advisory lifted.", "fr": "L'avis d'ébullition est levé."})
    post_publish_urgent(post_id=post.id, by=demo.uma, reason="Public safety")
    drain()
    assert Post.objects.get(id=post.id).state == PostState.PUBLISHED
    (review_mail,) = [m for m in mail.outbox if "Review after publishing" in m.subject]
    assert review_mail.to == ["cora@dpe.example"] and "Reason for urgency: Public safety" in review_mail.body
