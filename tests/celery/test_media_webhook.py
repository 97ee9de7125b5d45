"""A publication's media (issue 22): what the delivery hands the adapters, the signed links the
webhook receiver fetches, and the webhook's signed document — against the real HTTP platform on
127.0.0.1 (tests/celery/platform.py)."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from tests.platforms.media_helpers import (
    ALTS,
    VTT_EN,
    VTT_FR,
    attach,
    attach_images,
    jpeg_bytes,
    make_medium,
    media_root,  # noqa: F401 - the fixture
    mp4_bytes,
    png_bytes,
)
from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import Publication
from workflows.services import publish_media
from workflows.services.delivery import message_for, post_deliver, posts_deliver

from . import flows
from .conftest import SECRET
from .platform import valid_signature

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

PUBLIC = "https://parley.example"


@pytest.fixture
def public_url(settings):
    settings.PUBLIC_URL = PUBLIC
    settings.MEDIA_SIGNED_URL_TTL = 3600
    return PUBLIC


def _official_with_media(demo):
    post = flows.official(demo, en="The new offices are open.", fr="Les nouveaux bureaux sont ouverts.")
    shared = attach_images(demo, post, 2, focus=(0.25, -0.5))
    fr_only = attach(post, make_medium(demo, png_bytes(40, 40, (200, 0, 0)), "image/png"), position=5,
                     language="fr", alt_fr="L'affiche en français.")
    video = attach(post, make_medium(demo, mp4_bytes(2.0), "video/mp4", width=640, height=360, duration=2.0),
                   position=7, alt_en="The minister speaks.", alt_fr="La ministre parle.",
                   captions_en=VTT_EN, captions_fr=VTT_FR)
    return post, shared, fr_only, video


def test_each_language_gets_its_media_and_its_texts_only(demo, public_url, webhook_channels):
    post, shared, fr_only, video = _official_with_media(demo)
    from workflows.services.publishing import post_publish_start

    post_publish_start(post_id=post.id)
    en = message_for(Publication.objects.get(post=post, language="en"))
    fr = message_for(Publication.objects.get(post=post, language="fr"))
    # English: the two shared images and the video; French: those and its own poster, in order.
    assert [m.position for m in en.media] == [1, 2, 3] and [m.position for m in fr.media] == [1, 2, 3, 4]
    assert [m.alt for m in en.media] == [ALTS[0][0], ALTS[1][0], "The minister speaks."]
    assert [m.alt for m in fr.media] == [ALTS[0][1], ALTS[1][1], "L'affiche en français.", "La ministre parle."]
    assert en.media[2].captions == VTT_EN and fr.media[3].captions == VTT_FR
    assert en.media[2].kind == "video" and en.media[2].duration == 2.0 and en.media[2].content_type == "video/mp4"
    assert en.media[0].focus == (0.25, -0.5) and en.media[0].width == 64 and en.media[0].height == 48
    # The bytes come from the storage, as stored; the key is stable per publication and position.
    assert en.media[0].read() == shared[0].medium.file.open("rb").read()
    assert en.media[0].size == shared[0].medium.size
    pub_en = Publication.objects.get(post=post, language="en")
    assert [m.key for m in en.media] == [f"{pub_en.idempotency_key}.m{n}" for n in (1, 2, 3)]
    # A French-only medium never reaches English, and no English text reaches French.
    assert fr_only.medium_id not in {_medium_id(m.url) for m in en.media}
    assert not any(m.alt in {a for a, _ in ALTS} for m in fr.media)


def _medium_id(url: str) -> int:
    token = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]
    from django.core import signing

    return signing.Signer(salt=publish_media.SALT).unsign_object(token)["m"]


def test_the_signed_link_is_fixed_per_publication_and_expires(demo, public_url, webhook_channels, client,
                                                               settings):
    post, shared, _, _ = _official_with_media(demo)
    from workflows.services.publishing import post_publish_start

    post_publish_start(post_id=post.id)
    pub = Publication.objects.get(post=post, language="en")
    first = message_for(pub).media[0].url
    assert first.startswith(f"{PUBLIC}/m/") and message_for(pub).media[0].url == first  # a replay: identical
    # Derived from the publication's fixed creation time, not the attempt's: the same link
    # through the first half of the TTL, then a later one (still valid for at least half the TTL).
    later = pub.created_at + timedelta(seconds=1700)
    assert publish_media.link_expiry(pub.created_at, now=later) == pub.created_at + timedelta(seconds=3600)
    much_later = pub.created_at + timedelta(hours=5)
    assert publish_media.link_expiry(pub.created_at, now=much_later) - much_later >= timedelta(seconds=1800)

    path = urlparse(first).path
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == shared[0].medium.file.open("rb").read()
    assert response["X-Content-Type-Options"] == "nosniff"
    # Tampered with: 403. Another medium's id under this signature: 403. Expired: 403.
    token = path.rstrip("/").rsplit("/", 1)[-1]
    assert client.get(path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))).status_code == 403
    forged = token.replace(token.split(":")[0], token.split(":")[0][:-1] + "x")
    assert client.get(path.replace(token, forged)).status_code == 403
    expired = publish_media.media_token(shared[0].medium_id, timezone.now() - timedelta(seconds=1))
    assert client.get(f"/m/{expired}/").status_code == 403
    assert client.post(path).status_code == 405
    # Gone: 404 (never a listing, never another file).
    valid = publish_media.media_token(999_999_999, timezone.now() + timedelta(hours=1))
    assert client.get(f"/m/{valid}/").status_code == 404
    assert client.get("/m/").status_code == 404


def test_the_webhook_document_carries_signed_links_and_the_alt_texts(demo, public_url, webhook_channels,
                                                                    platform, client):
    post, shared, fr_only, video = _official_with_media(demo)
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    by_lang = {}
    for request in platform.posts():
        assert valid_signature(SECRET, request["body"], request["headers"]["X-Parley-Signature"])  # covers media
        doc = json.loads(request["body"])
        by_lang[doc["language"]] = doc
    assert [m["alt"] for m in by_lang["en"]["media"]] == [ALTS[0][0], ALTS[1][0], "The minister speaks."]
    assert [m["alt"] for m in by_lang["fr"]["media"]] == [ALTS[0][1], ALTS[1][1], "L'affiche en français.",
                                                          "La ministre parle."]
    v = by_lang["fr"]["media"][3]
    assert (v["kind"], v["content_type"], v["captions"], v["duration"], v["width"], v["height"]) == (
        "video", "video/mp4", VTT_FR, 2.0, 640, 360)
    # The receiver fetches each medium by its link: the bytes stored.
    for m, pm in zip(by_lang["en"]["media"][:2], shared, strict=True):
        response = client.get(urlparse(m["url"]).path)
        assert response.status_code == 200 and b"".join(response.streaming_content) == pm.medium.file.open("rb").read()


def test_a_replay_sends_the_same_bytes(demo, public_url, webhook_channels, platform):
    """The worker died after sending: the reconciler's replay (or any retry within the window)
    is byte-identical, so the receiver's signature check and deduplication see one document."""
    from workflows.channels import get_adapter

    post, *_ = _official_with_media(demo)
    from workflows.services.publishing import post_publish_start

    post_publish_start(post_id=post.id)
    pub = Publication.objects.select_related("channel", "post").get(post=post, language="fr")
    adapter = get_adapter(pub.channel)
    adapter.send(message_for(pub))
    adapter.send(message_for(Publication.objects.select_related("channel", "post").get(id=pub.id)))
    first, second = platform.posts()
    assert first["body"] == second["body"]
    assert first["headers"]["X-Parley-Signature"] == second["headers"]["X-Parley-Signature"]


def test_without_a_public_address_neither_language_goes(demo, webhook_channels, platform, settings):
    settings.PUBLIC_URL = ""
    post, *_ = _official_with_media(demo)
    post_deliver(post_id=post.id)
    assert platform.posts() == []
    errors = dict(Publication.objects.filter(post=post).values_list("language", "last_error"))
    assert all(e.startswith("preflight: publish.media.no_public_url") for e in errors.values()), errors


def test_a_post_without_media_is_sent_as_before(demo, public_url, webhook_channels, platform):
    post = flows.official(demo)
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    assert all("media" not in json.loads(r["body"]) for r in platform.posts())


def test_the_batch_path_reads_media_once_and_sends_them(demo, public_url, webhook_channels, platform):
    """posts_deliver: one query for every post's media, only when some post has any."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with_media = [flows.reply(demo, text=f"Here is the map ({i}).") for i in range(3)]
    for i, post in enumerate(with_media):
        attach(post, make_medium(demo, jpeg_bytes(30, 20, seed=i), "image/jpeg"), position=0,
               alt_en=f"Map number {i}.")
    plain = [flows.reply(demo, text=f"No picture here ({i}).") for i in range(2)]
    with CaptureQueriesContext(connection) as ctx:
        states = posts_deliver(post_ids=[p.id for p in with_media + plain], worker="w")
    assert set(states.values()) == {PostState.PUBLISHED}
    media_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "workflows_postmedium"' in q["sql"]
                   and "EXISTS" not in q["sql"]]
    assert len(media_reads) == 1, media_reads
    docs = {json.loads(r["body"])["text"]: json.loads(r["body"]) for r in platform.posts()}
    assert [m["alt"] for m in docs["Here is the map (1)."]["media"]] == ["Map number 1."]
    assert "media" not in docs["No picture here (0)."]
    assert Publication.objects.filter(post__in=with_media + plain, status=PS.SENT).count() == 5
