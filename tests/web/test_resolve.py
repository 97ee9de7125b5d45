"""Settling a publication whose outcome is unknown from the post page, and the outbox relay's
state on the metrics page. Unknown outcomes come from the real delivery path: a webhook whose
answer is lost, with no lookup URL (as in tests/celery)."""
from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
import requests
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.celery import flows
from workflows.exceptions import WorkflowError
from workflows.models import Channel, OutboxEvent, Publication
from workflows.selectors import post_get_visible
from workflows.services import delivery
from workflows.services import posts as post_services
from workflows.services.preview import post_actions_for
from workflows.services.publishing import publication_resolve

pytestmark = pytest.mark.django_db


def _client(user, lang="en"):
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = lang  # tess prefers French
    return client


def unknown_post(demo):
    """An official post (en + fr) whose two publications may or may not be on the platform."""
    post = flows.official(demo)
    Channel.objects.filter(posts=post.id).update(adapter="webhook", adapter_config={"url": "http://127.0.0.1:9/p"})
    with mock.patch.object(requests.Session, "request", side_effect=requests.ReadTimeout("answer lost")):
        assert delivery.post_deliver(post_id=post.id) == "failed"
    en, fr = Publication.objects.filter(post=post.id).order_by("language")
    assert en.status == fr.status == "unknown"
    return post, en, fr


def _resolve(client, post, pub, **data):
    return client.post(reverse("web-post-action", args=[post.id, "resolve"]), {"publication": pub.id, **data})


def test_the_form_is_shown_to_exactly_those_the_service_allows(demo):
    post, en, _fr = unknown_post(demo)
    shown, allowed = {}, {}
    for name in ("dana", "rami", "tess", "cora", "uma", "admin"):
        user = getattr(demo, name)
        acts = post_actions_for(post=post_get_visible(post_id=post.id, user=user), user=user)
        html = _client(user).get(reverse("web-post", args=[post.id])).content.decode()
        shown[name] = "It was published" in html
        assert acts.resolve == shown[name]
        assert "Outcome unknown: needs a person" in html  # everyone sees the status
        try:
            with transaction.atomic():
                publication_resolve(publication_id=en.id, by=user, sent=False)
                allowed[name] = True
                raise _Rollback
        except _Rollback:
            pass
        except WorkflowError:
            allowed[name] = False
    assert shown == allowed
    assert shown["cora"] and not shown["dana"]
    html = _client(demo.cora).get(reverse("web-post", args=[post.id])).content.decode()
    assert html.count('name="publication"') == 2
    assert f'id="id_pub{en.id}_url"' in html


class _Rollback(Exception):
    pass


def test_communications_records_one_published_and_one_not_then_retries(demo):
    post, en, fr = unknown_post(demo)
    cora = _client(demo.cora)
    response = _resolve(cora, post, en, sent="1", url="https://social.example/@DPE_en/1")
    assert response.status_code == 302
    page = cora.get(response["Location"]).content.decode()
    assert "Recorded as published: it will not be sent again." in page
    assert 'href="https://social.example/@DPE_en/1"' in page
    assert page.count('name="publication"') == 1  # only the French one is left to settle
    en.refresh_from_db()
    assert (en.status, en.url) == ("sent", "https://social.example/@DPE_en/1")

    response = _resolve(cora, post, fr, sent="0")
    assert response.status_code == 302
    page = cora.get(response["Location"]).content.decode()
    assert "Recorded as not published: retry the post to send it." in page
    assert 'name="publication"' not in page
    assert "Retry failed publication" in page
    assert page.count("Publication outcome recorded") == 2
    assert "(French: not published)" in page and "(English: published)" in page
    fr.refresh_from_db()
    assert fr.status == "failed"

    post.refresh_from_db()
    response = cora.post(reverse("web-post-action", args=[post.id, "retry"]), {"version": post.version})
    assert response.status_code == 302
    fr.refresh_from_db()
    en.refresh_from_db()
    assert (en.status, fr.status) == ("sent", "pending")  # the English text is never sent again


@pytest.mark.parametrize(("who", "data", "error"), [
    ("cora", {"sent": "0", "url": "https://social.example/1"}, "Give an address only if it was published."),
    ("cora", {"sent": "1", "url": "not an address"}, "Enter a valid URL."),
    ("cora", {}, "This field is required."),
    ("dana", {"sent": "1"}, "You need the “publish” permission"),
])
def test_errors_are_shown_in_the_summary_and_nothing_changes(demo, who, data, error):
    post, en, _fr = unknown_post(demo)
    response = _resolve(_client(getattr(demo, who)), post, en, **data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-summary"' in html and error in html
    if "url" in data and who == "cora":
        assert f'href="#id_pub{en.id}_url"' in html
        assert f'aria-describedby="id_pub{en.id}_url_error"' in html
        assert f'id="id_pub{en.id}_url_error"' in html
    en.refresh_from_db()
    assert en.status == "unknown"


def test_another_posts_or_organisations_publication_is_refused(demo):
    post, en, _fr = unknown_post(demo)
    other, other_en, _ = unknown_post(demo)
    response = _resolve(_client(demo.cora), post, other_en, sent="1")
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert _resolve(_client(demo.omar), post, en, sent="1").status_code == 404
    assert set(Publication.objects.filter(id__in=[en.id, other_en.id]).values_list("status", flat=True)) == {"unknown"}


def test_already_settled_elsewhere_is_a_conflict_not_a_crash(demo):
    post, en, _fr = unknown_post(demo)
    cora = _client(demo.cora)
    publication_resolve(publication_id=en.id, by=demo.cora, sent=True)  # someone else, a moment before
    response = _resolve(cora, post, en, sent="0")
    assert response.status_code == 400
    assert "Only a publication whose outcome is unknown can be resolved." in response.content.decode()
    en.refresh_from_db()
    assert en.status == "sent"


def test_the_form_in_french(demo):
    post, en, _fr = unknown_post(demo)
    cora = _client(demo.cora, lang="fr")
    html = cora.get(reverse("web-post", args=[post.id])).content.decode()
    assert '<html lang="fr">' in html
    assert "Résultat inconnu\u00a0: vérifiez sur le compte" in html
    assert "Elle a été publiée" in html and "Elle n'a pas été publiée" in html
    assert "Adresse de la publication (facultatif)" in html
    page = cora.get(_resolve(cora, post, en, sent="0")["Location"]).content.decode()
    assert "Consignée comme non publiée" in page
    assert "Résultat de la publication consigné" in page and "(anglais\u00a0: non publiée)" in page


def test_metrics_page_shows_the_outbox_relay(demo):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                  texts={"en": "The office reopens on Monday."}, rules_acknowledged=True)
    pending = OutboxEvent.objects.filter(dispatched_at__isnull=True).count()
    assert pending >= 1
    with time_machine.travel(start + timedelta(seconds=3725), tick=False):
        html = _client(demo.cora).get(reverse("web-metrics")).content.decode()
        french = _client(demo.cora, lang="fr").get(reverse("web-metrics")).content.decode()
    outbox = re.search(r'<dl class="meta" aria-labelledby="outbox-h" id="outbox">(.*?)</dl>', html, re.S).group(1)
    assert f"<dt>Events waiting</dt><dd>{pending}</dd>" in outbox
    assert "<dt>Age of the oldest</dt><dd>1 h 2 min</dd>" in outbox  # 3725 s, as people read it
    assert "Relais de la boîte d'envoi" in french
    assert f"<dt>Événements en attente</dt><dd>{pending}</dd>" in french
    assert "<dt>Âge du plus ancien</dt><dd>1 h 2 min</dd>" in french
