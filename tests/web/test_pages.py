"""Behaviour of the pages that depends on time, on the caller's permissions, and on sign-in."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from workflows.exceptions import WorkflowError
from workflows.services import posts as post_services
from workflows.services import reviews
from workflows.services.preview import post_actions_for

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _submitted(demo, text="The office reopens on Monday at 9:00."):
    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     texts={"en": text}, rules_acknowledged=True)
    return post_services.post_submit(post_id=post.id, by=demo.dana)


def test_overdue_work_is_flagged_on_home_and_listed_first_in_the_queue(demo):
    with time_machine.travel(timezone.now() - timedelta(hours=10)):
        late = _submitted(demo, "An older notice about Monday.")
    fresh = _submitted(demo, "A fresh notice about Tuesday.")
    home = _client(demo.rami).get(reverse("home")).content.decode()
    assert '<tr class="overdue">' in home
    assert "Overdue" in home
    queue = _client(demo.rami).get(reverse("web-queue")).content.decode()
    assert queue.index(f'value="{late.id}"') < queue.index(f'value="{fresh.id}"')
    newest = _client(demo.rami).get(reverse("web-queue") + "?sort=newest").content.decode()
    assert newest.index(f'value="{fresh.id}"') < newest.index(f'value="{late.id}"')


@pytest.mark.parametrize("step", ["review", "translation", "translated", "sign_off"])
def test_shown_review_actions_agree_with_the_service(demo, step):
    """Whoever sees the approve button can approve, and whoever does not, cannot."""
    post = _submitted(demo)
    if step in ("translation", "translated", "sign_off"):
        post = reviews.post_approve(post_id=post.id, by=demo.rami)
    if step in ("translated", "sign_off"):
        from workflows.services.translations import translation_provide

        post = translation_provide(post_id=post.id, by=demo.tess, language="fr", text="Le bureau rouvre lundi à 9 h.")
    if step == "sign_off":
        post = reviews.post_approve(post_id=post.id, by=demo.tess)
    post.refresh_from_db()
    assert post.current_step.kind == ("translation" if step == "translated" else step)
    shown = {}
    allowed = {}
    for name in ("dana", "rami", "tess", "cora", "uma", "omar", "admin"):
        user = getattr(demo, name)
        try:
            from workflows.selectors import post_get_visible

            visible = post_get_visible(post_id=post.id, user=user)
            shown[name] = post_actions_for(post=visible, user=user).approve
        except WorkflowError:
            shown[name] = False
        try:
            with transaction.atomic():
                reviews.post_approve(post_id=post.id, by=user)
                allowed[name] = True
                raise _Rollback
        except _Rollback:
            pass
        except WorkflowError:
            allowed[name] = False
    assert shown == allowed
    # Before the French text exists nobody can complete the translation step.
    assert any(shown.values()) == (step != "translation")


class _Rollback(Exception):
    pass


def test_not_found_page_is_the_sites_own(demo):
    response = _client(demo.omar).get(reverse("web-post", args=[_submitted(demo).id]))
    assert response.status_code == 404
    assert "find that page" in response.content.decode()
    assert 'href="/"' in response.content.decode()


def test_sign_in_and_out_with_the_form(demo, client):
    response = client.post(reverse("login"), {"username": "dana", "password": "parley-demo"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_an_error_summary(demo, client):
    html = client.post(reverse("login"), {"username": "dana", "password": "nope"}).content.decode()
    assert 'class="error-summary"' in html
    assert "Sign in with your organisation" not in html


@pytest.mark.urls("tests.web.oidc_urls")
def test_oidc_link_when_configured(settings, client):
    settings.OIDC_RP_CLIENT_ID = "parley"
    html = client.get(reverse("login")).content.decode()
    assert 'href="/oidc/authenticate/"' in html
    assert "Sign in with your organisation" in html


def test_reply_from_a_holding_reply_in_french(demo, citizen_message):
    msg = citizen_message(text="Bonjour, le bureau est-il ouvert lundi ?", external_id="fr-1", channel="dpe-fr",
                          language="fr")
    from workflows.models import HoldingReply

    holding = HoldingReply.objects.get(name_en="Thanks, we are looking into it")
    client = _client(demo.dana)
    page = client.get(reverse("web-inbound", args=[msg.id]) + f"?holding={holding.id}").content.decode()
    assert holding.body_fr in page
    response = client.post(reverse("web-inbound", args=[msg.id]), {"text": holding.body_fr, "rules_acknowledged": "on"})
    assert response.status_code == 302
    msg.refresh_from_db()
    reply = msg.replies.get()
    assert reply.texts_dict() == {"fr": holding.body_fr}
    assert reply.state != "draft"


def test_compose_with_a_schedule_saves_a_draft(demo):
    when = (timezone.localtime() + timedelta(days=2)).replace(second=0, microsecond=0)
    response = _client(demo.dana).post(reverse("web-compose"), {
        "text_en": "Town hall on Thursday.", "channels": ["dpe-en", "dpe-fr"],
        "scheduled_at": when.strftime("%Y-%m-%dT%H:%M"), "save": "1",
    })
    assert response.status_code == 302
    from workflows.models import Post

    post = Post.objects.get(id=int(response["Location"].rstrip("/").split("/")[-1]))
    assert post.state == "draft"
    assert post.scheduled_at == when


def test_author_edits_after_changes_requested_and_resubmits(demo):
    post = _submitted(demo)
    post = reviews.post_request_changes(post_id=post.id, by=demo.rami, comment="Say which office.")
    client = _client(demo.dana)
    page = client.get(reverse("web-post", args=[post.id])).content.decode()
    assert "Say which office." in page
    assert f'action="/posts/{post.id}/edit/"' in page
    response = client.post(reverse("web-post-action", args=[post.id, "edit"]), {
        "version": post.version, "text_en": "The Ottawa office reopens on Monday at 9:00.",
        "rules_acknowledged": "on", "submit": "1",
    })
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.state == "in_review"
    assert post.revision == 2
    diff = client.get(reverse("web-post", args=[post.id])).content.decode()
    assert "<ins>" in diff and "Ottawa" in diff


def test_urgent_publishing_needs_a_reason_and_its_permission(demo, embedded):
    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=True,
                                     texts={"en": "The office is closed today.", "fr": "Le bureau est fermé aujourd'hui."})
    post = post_services.post_submit(post_id=post.id, by=demo.dana)
    dana_page = _client(demo.dana).get(reverse("web-post", args=[post.id])).content.decode()
    assert "/urgent/" not in dana_page
    uma = _client(demo.uma)
    assert f'action="/posts/{post.id}/urgent/"' in uma.get(reverse("web-post", args=[post.id])).content.decode()
    no_reason = uma.post(reverse("web-post-action", args=[post.id, "urgent"]), {"version": post.version, "reason": ""})
    assert no_reason.status_code == 400
    assert '<a href="#id_reason">' in no_reason.content.decode()
    response = uma.post(reverse("web-post-action", args=[post.id, "urgent"]), {"version": post.version, "reason": "Storm"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.urgent and post.state in ("approved", "publishing", "published")


def test_author_withdraws_a_post(demo):
    post = _submitted(demo)
    response = _client(demo.dana).post(reverse("web-post-action", args=[post.id, "withdraw"]), {"version": post.version})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.state == "withdrawn"


def test_retry_a_failed_publication(demo, citizen_message):
    from workflows.services import publishing

    msg = citizen_message(external_id="retry-1")
    post = post_services.post_create(author=demo.dana, kind="reply", in_reply_to=msg.id, rules_acknowledged=True,
                                     texts={"en": "Thank you, the office opens at 9:00 on Monday."})
    post = post_services.post_submit(post_id=post.id, by=demo.dana)
    assert post.state == "publishing"  # started in the submit request
    publishing.post_publish_start(post_id=post.id)
    publishing.post_mark_failed(post_id=post.id, error="platform said no")
    post.refresh_from_db()
    assert post.state == "failed"
    client = _client(demo.dana)
    page = client.get(reverse("web-post", args=[post.id])).content.decode()
    assert "Retry failed publication" in page
    assert "Retry failed publication" not in _client(demo.tess).get(reverse("web-post", args=[post.id])).content.decode()
    response = client.post(reverse("web-post-action", args=[post.id, "retry"]), {"version": post.version})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.state == "publishing"
