"""Publishing media on Mastodon-API servers (issue 22), exactly once, counted on the server: the
local server (tests/platforms/mastodon_server.py) and Takahē (tests/platforms/takahe.py; skipped,
loudly, where it is not built).

Each medium is uploaded with its description (the alt text in the status's language) and focal
point, processing is awaited, then the status is created with the media ids. The lookup rule is
unchanged: a crash between the uploads and the status leaves unattached media on the server,
never a second status. Takahē takes images only (its instance says `video_size_limit: 0` and
lists image types), converts them to WebP and stores no focal point."""
from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as dj_settings
from django.utils import timezone

from tests.celery import flows
from workflows.channels import get_adapter
from workflows.channels.base import MediaItem, MediaRefused, OutboundMessage
from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import Post, Publication
from workflows.services.delivery import (
    message_for,
    post_deliver,
    publication_claim,
    publications_reconcile_stale,
)

from .media_helpers import (
    ALTS,
    VTT_EN,
    attach,
    attach_images,
    jpeg_bytes,
    make_medium,
    media_root,  # noqa: F401 - the fixture
    mp4_bytes,
    png_bytes,
)
from .takahe import Peer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def _marker() -> str:
    """Letters only (a run of digits could read as a social insurance number to the pre-screen)."""
    return "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


def _official(demo, marker: str) -> Post:
    return flows.official(demo, en=f"Notice {marker}: three new passport offices.",
                          fr=f"Avis {marker} : trois nouveaux bureaux de passeports.")


def _status(peer: Peer, gov, text: str) -> dict:
    """The one status of `gov` containing `text`, as its author sees it through the API."""
    (found,) = peer.statuses_by_text(gov, text)
    status = peer.status(found["id"], gov.username)
    assert status is not None
    return status


def _errors(post: Post) -> dict:
    return dict(Publication.objects.filter(post=post).values_list("language", "last_error"))


def _descriptions(status: dict, peer: Peer | None = None) -> list[str]:
    """The descriptions of a status's media, in the order the server gives them. Takahē keeps
    no order (its status lists `self.attachments.all()` unordered, activities/models/post.py):
    there they are compared sorted."""
    out = [m["description"] for m in status["media_attachments"]]
    return sorted(out) if peer is not None and peer.name == "takahe" else out


def _ordered(texts: list[str], peer: Peer) -> list[str]:
    return sorted(texts) if peer.name == "takahe" else texts


def test_four_images_go_out_with_each_languages_alt_texts(demo, peer_channels):
    peer = peer_channels
    marker = _marker()
    post = _official(demo, marker)
    attach_images(demo, post, 4, focus=(0.5, -0.25))
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED, _errors(post)
    en, fr = _status(peer, peer.gov_en, f"Notice {marker}"), _status(peer, peer.gov_fr, f"Avis {marker}")
    assert _descriptions(en, peer) == _ordered([a for a, _ in ALTS], peer)  # English status, English alt texts
    assert _descriptions(fr, peer) == _ordered([a for _, a in ALTS], peer)  # French status, French alt texts
    assert all(m["type"] == "image" and m["url"] for m in en["media_attachments"] + fr["media_attachments"])
    assert {p.language: p.external_id for p in Publication.objects.filter(post=post)} == {"en": en["id"], "fr": fr["id"]}
    if peer.name == "local":  # Takahē stores no focal point (api/views/media.py ignores `focus`)
        assert {(m["meta"]["focus"]["x"], m["meta"]["focus"]["y"]) for m in en["media_attachments"]} == {(0.5, -0.25)}
        assert len(peer.server.orphans_of("dpe_en")) == 0
    # exactly one status per language
    assert len(peer.statuses_by_text(peer.gov_en, f"Notice {marker}")) == 1
    assert len(peer.statuses_by_text(peer.gov_fr, f"Avis {marker}")) == 1


def test_a_language_specific_medium_goes_only_with_its_language(demo, peer_channels):
    peer = peer_channels
    marker = _marker()
    post = _official(demo, marker)
    attach_images(demo, post, 1)
    attach(post, make_medium(demo, png_bytes(50, 50, (0, 90, 0)), "image/png"), position=3, language="fr",
           alt_fr="L'infographie en français.")
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    assert _descriptions(_status(peer, peer.gov_en, f"Notice {marker}")) == [ALTS[0][0]]
    assert _descriptions(_status(peer, peer.gov_fr, f"Avis {marker}"), peer) == _ordered(
        [ALTS[0][1], "L'infographie en français."], peer)


def _unattached_on_takahe(peer: Peer, username: str) -> int:
    import psycopg

    from .takahe import _conninfo

    with psycopg.connect(**_conninfo(), dbname=peer.server.database) as conn:
        return conn.execute("select count(*) from activities_postattachment a join users_identity i "
                            "on i.id = a.author_id where a.post_id is null and i.username = %s",
                            [username]).fetchone()[0]


def test_a_crash_between_the_uploads_and_the_status_publishes_once(demo, peer_channels, settings):
    """The worker uploaded the media, then died before creating the status: the sweeper takes
    the abandoned claim over, looks (not there, once no attempt can still be running), and sends
    again — uploading again. One status with its four media; the first uploads stay unattached."""
    peer = peer_channels
    marker = _marker()
    post = _official(demo, marker)
    attach_images(demo, post, 4)
    from workflows.services.publishing import post_publish_start

    post_publish_start(post_id=post.id)
    pub = Publication.objects.get(post=post, language="en")
    claimed = publication_claim(publication_id=pub.id, worker="killed")
    before = _unattached_on_takahe(peer, "dpe_en") if peer.name == "takahe" else 0
    get_adapter(claimed.channel).upload_media(message_for(claimed))  # ...and the worker is SIGKILLed here
    time.sleep(settings.MASTODON_INFLIGHT_SECONDS + 0.1)
    later = timezone.now() + timedelta(seconds=dj_settings.PUBLISH_CLAIM_TIMEOUT + 1)
    publications_reconcile_stale(now=later)
    assert Publication.objects.get(id=pub.id).status == PS.RETRYING  # looked: not there
    assert post_deliver(post_id=post.id, now=later + timedelta(seconds=dj_settings.PUBLISH_BACKOFF_MAX + 1)) == "published"
    (status,) = peer.statuses_by_text(peer.gov_en, f"Notice {marker}")
    assert _descriptions(peer.status(status["id"], "dpe_en"), peer) == _ordered([a for a, _ in ALTS], peer)
    assert Publication.objects.get(id=pub.id).external_id == status["id"]
    orphans = (len(peer.server.orphans_of("dpe_en")) if peer.name == "local"
               else _unattached_on_takahe(peer, "dpe_en") - before)
    assert orphans == 4  # the first attempt's uploads, never attached: harmless


def test_neither_language_goes_when_the_french_media_are_refused(demo, peer_channels):
    """Both languages or neither: the French version carries a video the server does not take
    (Takahē takes no video; the local server is told to say the same). Preflight refuses it
    before the English status leaves: nothing on either account, and the post says why."""
    peer = peer_channels
    if peer.name == "local":
        peer.server.media_types = ["image/jpeg", "image/png", "image/gif", "image/webp"]
        peer.server.video_size_limit = 0
    marker = _marker()
    post = _official(demo, marker)
    attach_images(demo, post, 2)
    attach(post, make_medium(demo, mp4_bytes(3.0), "video/mp4", width=320, height=180, duration=3.0), position=4,
           language="fr", alt_fr="La ministre parle.", captions_fr=VTT_EN)
    post_deliver(post_id=post.id)
    assert Post.objects.get(id=post.id).state == PostState.FAILED
    assert peer.statuses_by_text(peer.gov_en, f"Notice {marker}") == []
    assert peer.statuses_by_text(peer.gov_fr, f"Avis {marker}") == []
    errors = dict(Publication.objects.filter(post=post).values_list("language", "last_error"))
    assert errors["fr"].startswith("preflight: publish.media.type"), errors
    assert errors["en"] == "held: dpe-fr"
    if peer.name == "local":
        assert not any(r["path"].endswith("/media") for r in peer.server.requests)  # nothing uploaded either


def test_the_post_page_says_why_in_the_readers_language(demo, peer_channels):
    from django.utils import translation

    from workflows.web.publishing_truth import publishing_truth

    peer = peer_channels
    if peer.name == "local":
        peer.server.video_size_limit = 0
    post = _official(demo, _marker())
    attach(post, make_medium(demo, mp4_bytes(1.0), "video/mp4", width=320, height=180, duration=1.0), position=0,
           language="fr", alt_fr="Une vidéo.", captions_fr=VTT_EN)
    post_deliver(post_id=post.id)
    post = Post.objects.prefetch_related("publications__channel").get(id=post.id)
    with translation.override("en"):
        truth = publishing_truth(post)
        assert "does not take video/mp4" in str(truth) and "not sent" in str(truth)
    with translation.override("fr"):
        assert "video/mp4" in str(publishing_truth(post)) and "non envoyé" in str(publishing_truth(post))


# --- the local server only: processing, limits ------------------------------------------------

def test_processing_is_awaited_before_the_status(demo, masto, masto_channels, settings):
    settings.MASTODON_MEDIA_POLL_INTERVAL = 0.1
    masto.media_processing = 0.5  # 202, then 206 until done
    post = flows.reply(demo, text="The map of the offices.")
    attach_images(demo, post, 2)
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    (status,) = masto.statuses_of("dpe")
    assert len(status["media_ids"]) == 2
    polls = [r for r in masto.requests if r["method"] == "GET" and r["path"].startswith("/api/v1/media/")]
    uploads = [r for r in masto.requests if r["path"] == "/api/v2/media"]
    assert len(uploads) == 2 and len(polls) >= 2
    created = next(r for r in masto.requests if r["path"] == "/api/v1/statuses" and r["method"] == "POST")
    assert created["at"] >= max(p["at"] for p in polls)  # the status came after the last poll


def test_processing_that_takes_too_long_is_retried_without_any_status(demo, masto, masto_channels, settings):
    settings.MASTODON_MEDIA_POLL_INTERVAL = 0.1
    settings.MASTODON_MEDIA_PROCESSING_TIMEOUT = 0.4
    masto.media_processing = 30.0
    post = flows.reply(demo, text="The chart of wait times.")
    attach_images(demo, post, 1)
    assert post_deliver(post_id=post.id) == PostState.PUBLISHING
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.RETRYING and "publish.media.processing" in pub.last_error
    assert pub.ambiguous_since is None  # nothing can have been posted: no lookup needed
    assert masto.statuses_of("dpe") == [] and len(masto.orphans_of("dpe")) == 1
    masto.media_processing = 0.0
    later = timezone.now() + timedelta(seconds=dj_settings.PUBLISH_BACKOFF_MAX + 1)
    assert post_deliver(post_id=post.id, now=later) == PostState.PUBLISHED
    assert len(masto.statuses_of("dpe")) == 1


def test_a_video_goes_alone_with_its_description(demo, masto, masto_channels):
    post = flows.reply(demo, text="The opening of the new office.")
    attach(post, make_medium(demo, mp4_bytes(2.5), "video/mp4", width=640, height=360, duration=2.5), position=0,
           alt_en="The minister cuts a ribbon.", captions_en=VTT_EN)
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    (status,) = masto.statuses_of("dpe")
    doc = masto._status_json(status, status["account_id"])
    assert [(m["type"], m["description"]) for m in doc["media_attachments"]] == [("video", "The minister cuts a ribbon.")]


def _item(n: int, *, kind: str = "image", content_type: str = "image/png", alt: str = "A chart.", size: int = 100):
    return MediaItem(key=f"k.m{n}", kind=kind, content_type=content_type, read=lambda: b"", alt=alt, size=size,
                     position=n)


def _msg(*media: MediaItem) -> OutboundMessage:
    return OutboundMessage(idempotency_key="pf", body="Text.", language="en", created_at=datetime.now(UTC),
                           media=tuple(media))


@pytest.mark.parametrize(("media", "code"), [
    ([_item(n) for n in range(1, 6)], "publish.media.too_many"),
    ([_item(1, kind="video", content_type="video/mp4"), _item(2)], "publish.media.video_alone"),
    ([_item(1, content_type="image/heic")], "publish.media.type"),
    ([_item(1, size=17 * 1024 * 1024)], "publish.media.too_large"),
    ([_item(1, alt="x" * 1501)], "publish.media.alt_too_long"),
])
def test_preflight_refuses_what_the_server_would(demo, masto, masto_channels, media, code):
    adapter = get_adapter(demo.channel("dpe-en"))
    with pytest.raises(MediaRefused) as refused:
        adapter.preflight([_msg(*media)])
    assert refused.value.code == code
    assert not any(r["path"].endswith("/media") for r in masto.requests)


def test_an_upload_the_server_refuses_fails_without_a_status(demo, masto, masto_channels):
    """The server told nothing against it, then refused the file (422): failed, no status."""
    post = flows.reply(demo, text="A broken picture.")
    attach(post, make_medium(demo, b"\x89PNG\r\n\x1a\nnot really", "image/png", width=10, height=10), position=0,
           alt_en="A picture.")
    assert post_deliver(post_id=post.id) == PostState.FAILED
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.FAILED and pub.last_error.startswith("publish.media.refused"), pub.last_error
    assert masto.statuses_of("dpe") == []


def test_jpeg_and_png_keep_their_bytes(demo, masto, masto_channels):
    post = flows.reply(demo, text="Two pictures.")
    a, b = png_bytes(33, 21), jpeg_bytes(41, 17, seed=9)
    attach(post, make_medium(demo, a, "image/png"), position=0, alt_en="First.")
    attach(post, make_medium(demo, b, "image/jpeg"), position=1, alt_en="Second.")
    assert post_deliver(post_id=post.id) == PostState.PUBLISHED
    (status,) = masto.statuses_of("dpe")
    assert [masto.media[m]["data"] for m in status["media_ids"]] == [a, b]
    assert [masto.media[m]["mime"] for m in status["media_ids"]] == ["image/png", "image/jpeg"]
