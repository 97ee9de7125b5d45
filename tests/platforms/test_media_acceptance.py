"""Issue 22's first acceptance criterion, end to end through the HTTP API a client uses: "A new
user can attach an image to an official post, write both alt texts, walk the chain and see it
live with both alt texts on each platform in the suite; counted on the server."

A user created here (a member of the authors' team, nothing else) uploads a real PNG made with
Pillow (`POST /api/v1/media/`, multipart, token auth), drafts an official post with it and its
English alternative text, and submits. The accessibility pre-screen lets the missing French
alternative text wait for the translation step (a warning, `alt_text.missing_until_translation`),
then blocks that step's approval once the French text is written without it (`alt_text.missing`,
422 in the reader's language, nothing changed). The translator writes it
(`PUT /api/v1/posts/{id}/translations/fr/` with `media`), three other people approve the three
steps (four eyes), the outbox is relayed as the worker does (tests/api/test_walkthrough.py) and
the post publishes through the real delivery path. Then the platforms are asked, never Parley:
one status (record) per language, carrying the one image with that language's alternative text.

Platforms: the local Mastodon-API server and Takahē (`peer_channels`, parametrized), and the AT
Protocol stack (PDS and AppView). All three fixtures are the suite's plugins, so they share this
directory."""
from __future__ import annotations

import io
import secrets
import uuid
from dataclasses import dataclass

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Team, User
from accounts.services import token_issue
from tests.atproto.conftest import wait_for, xrpc_get
from workflows.channels import bluesky
from workflows.models import Medium, Publication

from .media_helpers import bluesky_channels_on_pds, media_root  # noqa: F401 - the fixture
from .takahe import Peer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

WIDTH, HEIGHT = 320, 200
ALT_EN = "A map of the new passport office in Moncton, beside the river."
ALT_FR = "Une carte du nouveau bureau de passeports à Moncton, près de la rivière."


@pytest.fixture(autouse=True)
def _fresh_throttle_cache(monkeypatch):
    """The API's throttle counters in memory of this test's own (as tests/api/conftest.py does),
    not in the shared Redis."""
    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


def _marker() -> str:
    """Letters only (a run of digits could read as a social insurance number to the pre-screen)."""
    return "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


def _png() -> bytes:
    """A real PNG, drawn with Pillow: a river and an office on a map."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), (236, 232, 220))
    draw = ImageDraw.Draw(img)
    draw.line([(0, 150), (120, 120), (320, 170)], fill=(40, 110, 200), width=12)
    draw.rectangle([180, 50, 230, 95], fill=(200, 30, 30))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _client(user: User, *, lang: str = "en") -> APIClient:
    """An integration's client: a token of the user's, and the reader's language."""
    client = APIClient()
    _, key = token_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE=lang)
    return client


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:800])
    return response.json()


def _drain_outbox() -> None:
    """What the worker does after the last approval: relay the outbox and handle each event
    (publishing events run `delivery.posts_deliver`, which sends to the platforms)."""
    from workflows.services import relay

    while relay.relay_outbox(enqueue=lambda event_id, topic: relay.event_handle(event_id=event_id)):
        pass


@dataclass
class Walked:
    post_id: int
    en: str
    fr: str
    png: bytes


def walk_to_published(demo, marker: str) -> Walked:
    """A new author's official post with one image, from upload to published, through the API."""
    author = User.objects.create_user(username=f"newcomer-{uuid.uuid4().hex[:8]}", password=secrets.token_urlsafe(),
                                      organisation=demo.dana.organisation, first_name="Nadia")
    author.groups.add(Team.objects.get(organisation=demo.dana.organisation, slug="authors").group)
    nadia = _client(author)
    rami, cora = _client(demo.rami), _client(demo.cora)
    tess = _client(demo.tess)
    en = f"Notice {marker}: our new passport office in Moncton opens on Monday."
    fr = f"Avis {marker} : notre nouveau bureau de passeports à Moncton ouvre lundi."
    png = _png()

    # 1. Upload: the type is read from the content; the file is made safe and stored.
    upload = nadia.post("/api/v1/media/", {"file": SimpleUploadedFile("moncton-map.png", png, "image/png")},
                        format="multipart")
    medium = _ok(upload, 201)
    assert (medium["kind"], medium["content_type"], medium["width"], medium["height"]) == (
        "image", "image/png", WIDTH, HEIGHT)
    assert medium["uploaded_by"] == author.username

    # 2. Draft an official post with the image and its English alternative text (no French yet).
    created = nadia.post("/api/v1/posts/", {
        "channels": ["dpe-en", "dpe-fr"], "kind": "post", "lane": "official", "texts": {"en": en},
        "media": [{"medium": medium["id"], "alt_text": {"en": ALT_EN}}], "rules_acknowledged": True,
    }, format="json", HTTP_IDEMPOTENCY_KEY=f"acceptance-{marker}")
    post = _ok(created, 201)
    post_id = post["id"]
    assert post["state"] == "draft"
    assert [(m["id"], m["alt_text"]) for m in post["media"]] == [(medium["id"], {"en": ALT_EN, "fr": ""})]
    waiting = [c for c in post["checks"] if c["code"] == "alt_text.missing_until_translation"]
    assert [(c["language"], c["severity"]) for c in waiting] == [("fr", "warn")], post["checks"]

    # 3. Submit: the French alternative text is the translation step's to write, so it waits.
    submitted = _ok(nadia.post(f"/api/v1/posts/{post_id}/submit/", HTTP_IF_MATCH=created["ETag"]))
    assert submitted["state"] == "in_review"

    # 4. The review step (a manager).
    assert _ok(rami.post(f"/api/v1/posts/{post_id}/approve/", {"comment": "Clear."}, format="json"))[
        "state"] == "in_review"

    # 5. The translator writes the French text but forgets the image: the pre-screen blocks the
    #    translation step's approval, in the reader's language, and nothing changes.
    _ok(tess.put(f"/api/v1/posts/{post_id}/translations/fr/", {"text": fr}, format="json"))
    before = _ok(tess.get(f"/api/v1/posts/{post_id}/"))
    for lang, words in (("en", "Image 1 has no French alternative text"),
                        ("fr", "L'image 1 n'a pas de texte de remplacement en français")):
        # ?lang= names the reader's language over the one Tess chose (French).
        refused = tess.post(f"/api/v1/posts/{post_id}/approve/?lang={lang}", {}, format="json")
        assert refused.status_code == 422, refused.content[:800]
        assert refused["Content-Type"].startswith("application/problem+json")
        assert refused["Content-Language"] == lang
        body = refused.json()
        assert [(v["code"], v["language"]) for v in body["violations"]] == [("alt_text.missing", "fr")], body
        assert [m for m in body["errors"]["media.0.alt_text_fr"] if words in m], body["errors"]
    after = _ok(tess.get(f"/api/v1/posts/{post_id}/"))
    assert (after["state"], after["current_step"], after["version"]) == (
        before["state"], before["current_step"], before["version"])

    # 6. The translator writes the French alternative text with the text, and completes the step.
    translated = _ok(tess.put(f"/api/v1/posts/{post_id}/translations/fr/", {
        "text": fr, "media": [{"position": 0, "alt_text": ALT_FR}]}, format="json"))
    assert translated["media"][0]["alt_text"] == {"en": ALT_EN, "fr": ALT_FR}
    assert _ok(tess.post(f"/api/v1/posts/{post_id}/approve/", {}, format="json"))["state"] == "in_review"

    # 7. Sign-off by communications: neither the author nor the translator approves their words.
    signed = _ok(cora.post(f"/api/v1/posts/{post_id}/approve/", {}, format="json"))
    assert signed["state"] in ("approved", "published"), signed["state"]

    # 8. The worker relays the outbox and publishes.
    _drain_outbox()
    published = _ok(nadia.get(f"/api/v1/posts/{post_id}/"))
    assert published["state"] == "published", (
        published["state"], list(Publication.objects.filter(post_id=post_id).values_list("language", "last_error")))
    history = _ok(nadia.get(f"/api/v1/posts/{post_id}/history/"))
    events = history["results"] if isinstance(history, dict) else history
    approvers = {e["actor"] for e in events if e["verb"] == "approved"}
    assert approvers == {"rami", "tess", "cora"}, events
    return Walked(post_id=post_id, en=en, fr=fr, png=Medium.objects.get(id=medium["id"]).file.read())


# --- the Mastodon-API servers: the local one and Takahē ---------------------------------------

def _the_status(peer: Peer, gov, text: str) -> dict:
    """The one status of `gov` containing `text`, read back from the server's API."""
    found = peer.statuses_by_text(gov, text)
    assert len(found) == 1, (peer.name, gov.username, found)
    status = peer.status(found[0]["id"], gov.username)
    assert status is not None
    return status


def test_a_new_user_publishes_an_image_with_both_alt_texts_on_mastodon_peers(demo, peer_channels):
    peer = peer_channels
    marker = _marker()
    walked = walk_to_published(demo, marker)
    statuses = {"en": _the_status(peer, peer.gov_en, f"Notice {marker}"),
                "fr": _the_status(peer, peer.gov_fr, f"Avis {marker}")}
    for lang, alt in (("en", ALT_EN), ("fr", ALT_FR)):
        (attachment,) = statuses[lang]["media_attachments"]
        assert (attachment["type"], attachment["description"]) == ("image", alt), (peer.name, lang, attachment)
        assert attachment["url"]
        original = (attachment.get("meta") or {}).get("original") or {}
        if original:
            assert (original["width"], original["height"]) == (WIDTH, HEIGHT), (peer.name, original)
    assert {p.language: p.external_id for p in Publication.objects.filter(post_id=walked.post_id)} == {
        lang: s["id"] for lang, s in statuses.items()}
    if peer.name == "local":  # its store is in this process: what it holds is what was sent
        for username in ("dpe_en", "dpe_fr"):
            (stored,) = [m for m in peer.server.media.values()
                         if m["account_id"] == peer.server.account_by_name(username)["id"]]
            assert stored["data"] == walked.png and stored["status_id"] is not None
            assert peer.server.orphans_of(username) == []


# --- the AT Protocol stack: PDS and AppView ---------------------------------------------------

@pytest.fixture
def bluesky_channels(demo, atproto_stack, make_account, monkeypatch):
    """dpe-en and dpe-fr post as two new accounts on the stack's PDS."""
    accounts = bluesky_channels_on_pds(demo, atproto_stack, make_account, monkeypatch, tag="ACCEPT")
    yield accounts
    bluesky.forget_sessions()


def test_a_new_user_publishes_an_image_with_both_alt_texts_on_bluesky(demo, atproto_stack, bluesky_channels):
    from PIL import Image

    marker = _marker()
    walked = walk_to_published(demo, marker)
    for lang, alt, text in (("en", ALT_EN, walked.en), ("fr", ALT_FR, walked.fr)):
        account = bluesky_channels[lang]
        records = xrpc_get(atproto_stack, "com.atproto.repo.listRecords", repo=account.did, collection=bluesky.POST,
                           limit=100)["records"]
        assert len(records) == 1, (lang, records)
        (record,) = records
        assert record["value"]["text"].startswith(text[:30]), record["value"]["text"]
        embed = record["value"]["embed"]
        assert embed["$type"] == bluesky.IMAGES
        (image,) = embed["images"]
        assert (image["alt"], image["aspectRatio"]) == (alt, {"width": WIDTH, "height": HEIGHT})
        blob = httpx.get(f"{atproto_stack.pds}/xrpc/com.atproto.sync.getBlob", timeout=30,
                         params={"did": account.did, "cid": image["image"]["ref"]["$link"]})
        assert blob.status_code == 200, blob.text
        assert blob.content == walked.png  # a small image goes as stored: the safe re-encoding
        assert Image.open(io.BytesIO(blob.content)).size == (WIDTH, HEIGHT)
        assert Publication.objects.get(post_id=walked.post_id, language=lang).external_id == record["uri"]
        # The AppView (what readers' apps show) has the post with its alternative text.
        view = wait_for(lambda uri=record["uri"], acc=account: xrpc_get(
            atproto_stack, "app.bsky.feed.getPosts", acc, uris=[uri])["posts"], what="the post in the AppView")
        assert [i["alt"] for i in view[0]["embed"]["images"]] == [alt]
