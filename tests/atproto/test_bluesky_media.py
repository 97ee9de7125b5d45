"""Publishing media on Bluesky (issue 22) against the reference AT Protocol stack, counted on the
PDS (`listRecords`, `getBlob`) and in the AppView (`getPosts`).

Images are uploaded as blobs and embedded (`app.bsky.embed.images`) with the alt text in the
post's language and their `aspectRatio`; an image larger than BLUESKY_IMAGE_MAX_BYTES is
re-encoded deterministically at send time. A video is embedded alone (`app.bsky.embed.video`)
with its alt text, aspect ratio and captions (a text/vtt blob tagged with the language). The
record key still makes it exactly once: a replay or a resend after a crash between the uploads
and the record leaves one record (blobs are addressed by content)."""
from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.atproto.conftest import wait_for, xrpc_get
from tests.celery import flows
from tests.platforms.media_helpers import (
    ALTS,
    VTT_EN,
    VTT_FR,
    attach,
    attach_images,
    bluesky_channels_on_pds,
    jpeg_bytes,
    make_medium,
    media_root,  # noqa: F401 - the fixture
    mp4_bytes,
    png_bytes,
)
from workflows.channels import bluesky
from workflows.channels.base import MediaItem, MediaRefused, OutboundMessage
from workflows.constants import PostState
from workflows.models import Post, Publication
from workflows.services.delivery import post_deliver

pytestmark = pytest.mark.usefixtures("media_root")


def _item(n: int, data: bytes, content_type: str, *, alt: str = "", width: int | None = None,
          height: int | None = None, kind: str = "image", captions: str = "") -> MediaItem:
    return MediaItem(key=f"k.m{n}", kind=kind, content_type=content_type, read=lambda: data, alt=alt,
                     captions=captions, width=width, height=height, size=len(data), position=n)


def _msg(body: str, *media: MediaItem, language: str = "en") -> OutboundMessage:
    return OutboundMessage(idempotency_key=f"pub-{uuid.uuid4()}", body=body, language=language,
                           created_at=datetime.now(UTC), media=tuple(media))


def _records(stack, did: str) -> list[dict]:
    return xrpc_get(stack, "com.atproto.repo.listRecords", repo=did, collection=bluesky.POST, limit=100)["records"]


def _blob(stack, did: str, cid: str) -> bytes:
    r = httpx.get(f"{stack.pds}/xrpc/com.atproto.sync.getBlob", params={"did": did, "cid": cid}, timeout=30)
    assert r.status_code == 200, r.text
    return r.content


def test_images_are_embedded_with_alt_and_aspect_ratio(atproto_stack, bsky_channel):
    adapter, account = bsky_channel.adapter, bsky_channel.account
    a, b = png_bytes(120, 60), jpeg_bytes(90, 120, seed=3)
    msg = _msg("Our new offices.", _item(1, a, "image/png", alt=ALTS[0][0], width=120, height=60),
               _item(2, b, "image/jpeg", alt=ALTS[1][0], width=90, height=120))
    result = adapter.send(msg)
    (record,) = _records(atproto_stack, account.did)
    embed = record["value"]["embed"]
    assert embed["$type"] == bluesky.IMAGES
    assert [(i["alt"], i["aspectRatio"]) for i in embed["images"]] == [
        (ALTS[0][0], {"width": 120, "height": 60}), (ALTS[1][0], {"width": 90, "height": 120})]
    assert [i["image"]["mimeType"] for i in embed["images"]] == ["image/png", "image/jpeg"]
    # The PDS holds the bytes as sent (small images are never re-encoded).
    assert [_blob(atproto_stack, account.did, i["image"]["ref"]["$link"]) for i in embed["images"]] == [a, b]
    # The AppView shows them with their alt texts.
    view = wait_for(lambda: xrpc_get(atproto_stack, "app.bsky.feed.getPosts", account, uris=[result.external_id])
                    ["posts"], what="the post in the AppView")
    assert [i["alt"] for i in view[0]["embed"]["images"]] == [ALTS[0][0], ALTS[1][0]]
    # A replay (same key, same bytes → same blobs): the same record, nothing added.
    assert adapter.send(msg).external_id == result.external_id
    assert len(_records(atproto_stack, account.did)) == 1


def test_an_image_over_the_limit_is_re_encoded_the_same_way_every_time(atproto_stack, bsky_channel, settings):
    settings.BLUESKY_IMAGE_MAX_BYTES = 200_000
    adapter, account = bsky_channel.adapter, bsky_channel.account
    big = jpeg_bytes(600, 400, noise=True, quality=95)
    assert len(big) > 200_000
    first, kind = bluesky.fit_image(big, "image/jpeg", 200_000)
    assert (first, kind) == bluesky.fit_image(big, "image/jpeg", 200_000)  # deterministic
    msg = _msg("A large photo.", _item(1, big, "image/jpeg", alt="Noise, for the test.", width=600, height=400))
    result = adapter.send(msg)
    (record,) = _records(atproto_stack, account.did)
    (image,) = record["value"]["embed"]["images"]
    assert image["image"]["size"] <= 200_000 and image["image"]["mimeType"] == "image/jpeg"
    assert image["aspectRatio"] == {"width": 600, "height": 400}
    from PIL import Image

    stored = Image.open(io.BytesIO(_blob(atproto_stack, account.did, image["image"]["ref"]["$link"])))
    assert stored.format == "JPEG" and abs(stored.size[0] / stored.size[1] - 1.5) < 0.02
    assert adapter.send(msg).external_id == result.external_id  # replay: identical record
    assert len(_records(atproto_stack, account.did)) == 1


def test_a_png_with_transparency_over_the_limit_is_flattened(settings):
    import random

    from PIL import Image

    rng = random.Random(7)
    img = Image.frombytes("RGBA", (300, 300), bytes(rng.getrandbits(8) for _ in range(300 * 300 * 4)))
    out = io.BytesIO()
    img.save(out, format="PNG")
    assert len(out.getvalue()) > 40_000
    data, kind = bluesky.fit_image(out.getvalue(), "image/png", 40_000)
    assert kind == "image/jpeg" and len(data) <= 40_000 and Image.open(io.BytesIO(data)).mode == "RGB"


def test_a_video_is_embedded_with_alt_aspect_ratio_and_captions(atproto_stack, bsky_channel):
    adapter, account = bsky_channel.adapter, bsky_channel.account
    video = mp4_bytes(2.0)
    msg = _msg("La ministre inaugure le bureau.", _item(1, video, "video/mp4", alt="La ministre coupe un ruban.",
                                                       width=640, height=360, kind="video", captions=VTT_FR),
               language="fr")
    result = adapter.send(msg)
    (record,) = _records(atproto_stack, account.did)
    embed = record["value"]["embed"]
    assert embed["$type"] == bluesky.VIDEO
    assert (embed["alt"], embed["aspectRatio"]) == ("La ministre coupe un ruban.", {"width": 640, "height": 360})
    assert embed["video"]["mimeType"] == "video/mp4"
    assert _blob(atproto_stack, account.did, embed["video"]["ref"]["$link"]) == video
    (caption,) = embed["captions"]
    assert caption["lang"] == "fr" and caption["file"]["mimeType"] == "text/vtt"
    assert _blob(atproto_stack, account.did, caption["file"]["ref"]["$link"]).decode() == VTT_FR
    assert adapter.send(msg).external_id == result.external_id
    assert len(_records(atproto_stack, account.did)) == 1


def test_a_crash_between_the_uploads_and_the_record_leaves_one_record(atproto_stack, bsky_channel):
    """The blobs went up, the worker died before putRecord: lookup finds nothing, the resend
    uploads the same bytes again (the same blobs) and writes the one record."""
    adapter, account = bsky_channel.adapter, bsky_channel.account
    msg = _msg("Three maps.", *[_item(n, png_bytes(40 + n, 30), "image/png", alt=f"Map {n}.", width=40 + n, height=30)
                                for n in (1, 2, 3)])
    first_embed = adapter.embed_for(msg)  # ...and the worker is SIGKILLed here
    assert adapter.lookup(msg) is None and _records(atproto_stack, account.did) == []
    adapter.send(msg)
    adapter.send(msg)  # and even a blind replay after that
    (record,) = _records(atproto_stack, account.did)
    assert record["value"]["embed"] == first_embed  # the same blobs: content-addressed
    assert [i["alt"] for i in record["value"]["embed"]["images"]] == ["Map 1.", "Map 2.", "Map 3."]


@pytest.mark.parametrize(("media", "code"), [
    ([_item(n, b"x", "image/png", width=1, height=1) for n in range(1, 6)], "publish.media.too_many"),
    ([_item(1, b"v", "video/mp4", kind="video"), _item(2, b"x", "image/png")], "publish.media.video_alone"),
    ([_item(1, b"x", "image/heic")], "publish.media.type"),
    ([_item(1, b"v", "video/mp4", kind="video", captions="WEBVTT\n\n" + "x" * 20_001)], "publish.media.captions_too_large"),
    ([_item(1, b"v", "video/mp4", kind="video", alt="é" * 1001)], "publish.media.alt_too_long"),
])
def test_preflight_refuses_what_bluesky_would(atproto_stack, bsky_channel, media, code):
    with pytest.raises(MediaRefused) as refused:
        bsky_channel.adapter.preflight([_msg("Text.", *media)])
    assert refused.value.code == code
    assert _records(atproto_stack, bsky_channel.account.did) == []


# --- through Parley's delivery: both languages, or neither -------------------------------------

def _bluesky_channels(demo, atproto_stack, make_account, monkeypatch):
    return bluesky_channels_on_pds(demo, atproto_stack, make_account, monkeypatch, tag="MEDIA")


@pytest.mark.django_db
def test_an_official_post_with_four_images_goes_out_in_both_languages(demo, atproto_stack, make_account,
                                                                     monkeypatch):
    accounts = _bluesky_channels(demo, atproto_stack, make_account, monkeypatch)
    post = flows.official(demo, en="Three new passport offices open today.",
                          fr="Trois nouveaux bureaux de passeports ouvrent aujourd’hui.")
    attach_images(demo, post, 4)
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    for lang, index in (("en", 0), ("fr", 1)):
        (record,) = _records(atproto_stack, accounts[lang].did)
        images = record["value"]["embed"]["images"]
        assert [i["alt"] for i in images] == [alts[index] for alts in ALTS]  # each language its own alt texts
        assert all(i["aspectRatio"]["width"] > 0 for i in images)
        assert Publication.objects.get(post=post, language=lang).external_id == record["uri"]
    bluesky.forget_sessions()


@pytest.mark.django_db
def test_neither_language_goes_when_bluesky_refuses_the_french_media(demo, atproto_stack, make_account, monkeypatch):
    """The French version has a video besides its images: Bluesky takes a video only alone.
    Preflight refuses it before the English record is written: no record on either account."""
    accounts = _bluesky_channels(demo, atproto_stack, make_account, monkeypatch)
    post = flows.official(demo, en="The office opens.", fr="Le bureau ouvre.")
    attach_images(demo, post, 1)
    attach(post, make_medium(demo, mp4_bytes(1.0), "video/mp4", width=320, height=180, duration=1.0), position=2,
           language="fr", alt_fr="La ministre parle.", captions_fr=VTT_FR)
    post_deliver(post_id=post.id)
    assert Post.objects.get(id=post.id).state == PostState.FAILED
    assert _records(atproto_stack, accounts["en"].did) == [] and _records(atproto_stack, accounts["fr"].did) == []
    errors = dict(Publication.objects.filter(post=post).values_list("language", "last_error"))
    assert errors["fr"].startswith("preflight: publish.media.video_alone") and errors["en"] == "held: dpe-fr"
    bluesky.forget_sessions()


@pytest.mark.django_db
def test_an_english_video_reply_carries_english_captions(demo, atproto_stack, make_account, monkeypatch):
    accounts = _bluesky_channels(demo, atproto_stack, make_account, monkeypatch)
    post = flows.reply(demo, text="Here is the opening of the office.")
    attach(post, make_medium(demo, mp4_bytes(2.0), "video/mp4", width=1280, height=720, duration=2.0), position=0,
           alt_en="A ribbon is cut at the door.", alt_fr="On coupe un ruban à la porte.", captions_en=VTT_EN,
           captions_fr=VTT_FR)
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    (record,) = _records(atproto_stack, accounts["en"].did)
    embed = record["value"]["embed"]
    assert embed["alt"] == "A ribbon is cut at the door." and embed["captions"][0]["lang"] == "en"
    assert _blob(atproto_stack, accounts["en"].did, embed["captions"][0]["file"]["ref"]["$link"]).decode() == VTT_EN
    bluesky.forget_sessions()
