"""Issue 21, item 3: publishing states that are true, walked as the public servant does.

- A channel that cannot work (a webhook without its URL) is shown unavailable, with why for
  those who can fix it, is never pre-selected, and is refused when the post is drafted or
  submitted — by its name — not after the whole approval chain.
- When it breaks after approval, the post page blames only that channel, says "not sent" (never
  "the platform refused it"), says what to change, and offers no Retry until it is fixed.
- Retract is on the post page (publish permission, a confirmation, audited, both languages); a
  retracted post shows a translated badge, a "Retracted" banner and no links to deleted statuses.
"""
from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import token_issue
from tests.web.helpers import page_text as text
from tests.web.helpers import signed_in as _client
from tests.workflows import factories as f
from workflows.constants import PostState, PublicationStatus
from workflows.models import AuditEvent, Channel, Post, Publication
from workflows.services import delivery, posts, publishing, reviews, translations

pytestmark = pytest.mark.django_db

BROKEN = "dpe-alerts-fr"
BROKEN_NAME_EN, BROKEN_NAME_FR = "DPE alerts (French)", "Alertes MEP (français)"


def _api(user, lang="en"):
    _token, key = token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE=lang)
    return client


@pytest.fixture
def alerts_channel(demo):
    """The demo's French alerts account (a webhook), set up properly: the tests break it."""
    from workflows.demo_scenario import _broken_channel

    chan = _broken_channel()  # the demo closes it after its deliberate failure: open it again, named plainly
    Channel.objects.filter(id=chan.id).update(is_active=True, name=BROKEN_NAME_EN, name_en=BROKEN_NAME_EN,
                                              name_fr=BROKEN_NAME_FR)
    chan.refresh_from_db()
    return chan


def _break(channel):
    Channel.objects.filter(id=channel.id).update(adapter_config={})  # its URL was removed


# --- refused at draft and submit, by name -------------------------------------------------------

def test_the_channels_api_says_which_channel_cannot_publish(demo, alerts_channel):
    _break(alerts_channel)
    body = _api(demo.dana).get("/api/v1/channels/").json()
    rows = {c["slug"]: c for c in body["results"]}
    assert rows[BROKEN]["usable"] is False and rows[BROKEN]["unusable_reason"] == "channel.unusable_config"
    assert rows["dpe-en"]["usable"] is True and rows["dpe-en"]["unusable_reason"] is None


def test_a_post_to_a_channel_that_cannot_work_is_refused_at_draft_by_its_name(demo, alerts_channel):
    _break(alerts_channel)
    before = Post.objects.count()
    response = _api(demo.dana, "fr").post("/api/v1/posts/", {
        "kind": "post", "channels": ["dpe-en", BROKEN], "texts": {"en": "Road closure tonight."},
        "rules_acknowledged": True}, format="json")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "channel.unusable" and body["params"]["channels"] == [BROKEN_NAME_FR]
    assert BROKEN_NAME_FR in body["detail"] and BROKEN not in body["detail"]
    assert body["title"] == "Le compte ne peut pas publier"
    assert Post.objects.count() == before  # nothing kept


def test_a_draft_whose_channel_broke_is_refused_at_submit_not_after_the_chain(demo, alerts_channel):
    draft = posts.post_create(author=demo.dana, kind="post", channels=["dpe-en", BROKEN],
                              texts={"en": "Road closure tonight."}, rules_acknowledged=True)
    _break(alerts_channel)
    response = _api(demo.dana).post(f"/api/v1/posts/{draft.id}/submit/", {}, format="json")
    assert response.status_code == 422
    assert response.json()["params"]["channels"] == [BROKEN_NAME_EN]
    assert Post.objects.get(id=draft.id).state == PostState.DRAFT
    # On the web: the post page's "Save and submit" says so on the form, by name.
    page = _client(demo.dana).post(reverse("web-post-action", args=[draft.id, "edit"]), {
        "version": Post.objects.get(id=draft.id).version, "text_en": "Road closure tonight.",
        "rules_acknowledged": "on", "submit": "1"})
    assert page.status_code == 400
    assert f"{BROKEN_NAME_EN} cannot publish now" in text(page)


def test_the_new_post_form_never_offers_or_preselects_a_channel_that_cannot_work(demo, alerts_channel):
    _break(alerts_channel)
    html = text(_client(demo.dana).get(reverse("web-compose")))
    assert f'value="{BROKEN}"' not in html  # neither offered nor ticked
    assert 'value="dpe-en"' in html and 'checked' in html
    unavailable = html.split('id="unavailable-channels"', 1)[1].split("</div>", 1)[0]
    assert BROKEN_NAME_EN in unavailable and "configuration is incomplete or wrong" in unavailable
    assert "url" not in unavailable  # the details are for those who can fix it
    as_admin = text(_client(demo.admin).get(reverse("web-compose")))
    fixable = as_admin.split('id="unavailable-channels"', 1)[1].split("</div>", 1)[0]
    assert "<code>url</code>: Required." in fixable
    fr = text(_client(demo.dana, "fr").get(reverse("web-compose")))
    assert "Comptes qui ne peuvent pas publier pour l'instant" in fr and BROKEN_NAME_FR in fr


# --- broke after approval: each channel's own reason, no trap ----------------------------------

def _approved_to_alerts(demo):
    post = posts.post_create(author=demo.dana, kind="post", channels=["dpe-en", BROKEN],
                             texts={"en": "Road closure on Bank Street tonight."}, rules_acknowledged=True)
    posts.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    translations.translation_provide(post_id=post.id, by=demo.tess, language="fr",
                                     text="Fermeture de la rue Bank ce soir.")
    reviews.post_approve(post_id=post.id, by=demo.tess)
    reviews.post_approve(post_id=post.id, by=demo.cora)
    return post


def test_a_channel_broken_after_approval_blames_only_itself_and_offers_no_retry_until_fixed(demo, alerts_channel):
    post = _approved_to_alerts(demo)
    _break(alerts_channel)
    publishing.post_publish_start(post_id=post.id)
    delivery.post_deliver(post_id=post.id)
    delivery.post_settle(post_id=post.id)
    assert Post.objects.get(id=post.id).state == PostState.FAILED
    errors = {p.channel.slug: p.last_error for p in Publication.objects.filter(post=post).select_related("channel")}
    assert errors[BROKEN].startswith("preflight: url:")
    assert "url" not in errors["dpe-en"] and errors["dpe-en"] == f"held: {BROKEN}"  # not blamed for it

    html = text(_client(demo.cora).get(reverse("web-post", args=[post.id])))
    assert "the platform did not accept it" not in html and "refused" not in html
    assert "not sent: held back because DPE alerts (French) cannot publish" in html
    assert "not sent: the channel is not set up to publish" in html
    assert f"A channel manager must fix the configuration of {BROKEN_NAME_EN}" in html
    assert "Retry failed publication" not in html  # retrying as it is would fail again
    detail = html.split("Technical detail", 1)[1].split("</details>", 1)[0]
    assert "@DPE_en" not in detail  # the healthy channel's row carries no one else's error
    fr = text(_client(demo.cora, "fr").get(reverse("web-post", args=[post.id])))
    assert "non envoyé" in fr and "Alertes MEP (français)" in fr

    api = _api(demo.cora)
    assert "retry" not in api.get(f"/api/v1/posts/{post.id}/").json()["actions"]  # the same check
    refused = api.post(f"/api/v1/posts/{post.id}/retry/", {}, format="json")
    assert refused.status_code == 422 and refused.json()["params"]["channels"] == [BROKEN_NAME_EN]

    Channel.objects.filter(id=alerts_channel.id).update(adapter_config={"url": "https://alerts.dpe.example/p"})
    assert "Retry failed publication" in text(_client(demo.cora).get(reverse("web-post", args=[post.id])))
    assert "retry" in api.get(f"/api/v1/posts/{post.id}/").json()["actions"]


# --- retract: on the post page, confirmed, audited; a retracted post says so --------------------

def test_retract_from_the_post_page(demo):
    post = f.published(demo)
    url = reverse("web-post", args=[post.id])
    assert "Retract this post" not in text(_client(demo.dana).get(url))  # the author may not publish
    cora = _client(demo.cora)
    page = text(cora.get(url))
    assert "Retract this post" in page and 'id="id_retract_confirm"' in page
    action = reverse("web-post-action", args=[post.id, "retract"])
    unconfirmed = cora.post(action, {"version": post.version})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in text(unconfirmed)
    assert Post.objects.get(id=post.id).state == PostState.PUBLISHED
    done = cora.post(action, {"version": post.version, "confirm": "on"}, follow=True)
    html = text(done)
    assert Post.objects.get(id=post.id).state == PostState.RETRACTED
    assert "Retracted: what this post published was deleted from the platforms." in html
    assert 'class="message message--success"' in html
    assert AuditEvent.objects.filter(post=post, verb="retracted", actor=demo.cora).exists()
    assert set(Publication.objects.filter(post=post).values_list("status", flat=True)) == {PublicationStatus.RETRACTED}


def test_a_retracted_post_says_so_in_both_languages_without_links(demo):
    post = f.retracted(demo)
    en = text(_client(demo.cora).get(reverse("web-post", args=[post.id])))
    badge = en.split('class="badge badge--retracted">', 1)[1].split("<", 1)[0]
    assert badge == "Retracted"
    assert "Publishing in progress" not in en and "is being published" not in en
    truth = en.split('id="publishing-truth"', 1)[1].split("</div>", 1)[0]
    assert ">Retracted</h2>" in truth and "English was retracted" in truth
    assert "View on" not in en and "example.test" not in en
    assert "Retract this post" not in en  # nothing left to retract
    fr = text(_client(demo.cora, "fr").get(reverse("web-post", args=[post.id])))
    assert fr.split('class="badge badge--retracted">', 1)[1].split("<", 1)[0] == "Retirée"
    assert "L'anglais a été retiré" in fr


def test_asking_whether_a_channel_can_publish_never_waits_on_dns(demo, alerts_channel, monkeypatch):
    """Pages and every submit ask it: the URL's form is checked, its host is not resolved (the
    preflight and every connection still resolve and check the address)."""
    import socket

    from workflows.services.channels import channel_usability

    def no_dns(*args, **kwargs):
        raise AssertionError("DNS lookup")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    Channel.objects.filter(id=alerts_channel.id).update(
        adapter="mastodon", adapter_config={"api_base_url": "https://social.example", "token_env": "PARLEY_SECRET_X"})
    assert channel_usability(Channel.objects.get(id=alerts_channel.id)).usable
    Channel.objects.filter(id=alerts_channel.id).update(adapter_config={"api_base_url": "ftp://social.example"})
    usability = channel_usability(Channel.objects.get(id=alerts_channel.id))
    assert not usability.usable and set(usability.problems) == {"api_base_url", "token_env"}


def test_a_channel_paused_by_a_caretaker_period_is_said_at_draft_time_by_name(demo):
    """Issue 21 (item 7's "a paused channel is reported only at submit, by its slug"): the new-post
    form names it and does not pre-select it."""
    from datetime import timedelta

    from django.utils import timezone

    from workflows.services import caretaker

    now = timezone.now()
    caretaker.caretaker_period_create(
        by=demo.cora, name_en="2027 general election", name_fr="Élections générales de 2027",
        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3), paused_channels=["dpe-fr"])
    html = text(_client(demo.dana).get(reverse("web-compose")))
    notice = html.split('id="paused-channels">', 1)[1].split("</p>", 1)[0]
    assert "DPE (French)" in notice and "dpe-fr" not in notice and "2027 general election" in notice
    assert 'value="dpe-fr"' in html and 'value="dpe-fr" id' in html  # still offered…
    ticked = [line for line in html.split("<input") if 'name="channels"' in line and "checked" in line]
    assert any('value="dpe-en"' in t for t in ticked) and not any('value="dpe-fr"' in t for t in ticked)
    fr = text(_client(demo.dana, "fr").get(reverse("web-compose")))
    assert "MEP (français)" in fr.split('id="paused-channels">', 1)[1] and "Élections générales de 2027" in fr
