"""The worker SIGKILLed between the media uploads and the status (issue 22), on real servers: a
real Celery worker (supervised: restarted as systemd would) publishes an official post with four
images in both languages. A test hook in the worker (tests/celery/media_pause.py) holds the
first publication right after its media are uploaded — before the status (Mastodon-API servers)
or the record (Bluesky) — and the worker's whole process group is SIGKILLed there. The stale
claim is reconciled (looked up: not there) and sent again, uploading again. Counted on the
servers: one status (record) per language with its four media and that language's alt texts;
on the Mastodon-API servers the first attempt's uploads stay unattached."""
from __future__ import annotations

import time

import pytest

from tests.atproto.conftest import xrpc_get
from tests.platforms.conftest import mastodon_server  # noqa: F401 - the local peer's session fixture
from tests.platforms.media_helpers import ALTS, attach_images
from workflows.channels import bluesky
from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import Post, Publication

from . import flows
from .conftest import wait_for

WORKER_ENV = {"PUBLISH_HTTP_TIMEOUT": "3", "MASTODON_INFLIGHT_SECONDS": "2", "PUBLISH_MAX_ATTEMPTS": "12",
              "PUBLISH_BACKOFF_MAX": "1", "LISTEN_INTERVAL": "3600", "MASTODON_MEDIA_POLL_INTERVAL": "0.1",
              "PARLEY_TEST_WORKER_HOOKS": "tests.celery.media_pause"}


def _marker() -> str:
    import secrets

    return "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


def _kill_between_upload_and_status(worker, pause_dir, post_id: int) -> str:
    """Wait for a publication paused after its uploads, SIGKILL the worker there, then let every
    later attempt through. Returns the language of the publication that was killed."""
    found = wait_for(lambda: list(pause_dir.glob("uploaded-*")), timeout=60, interval=0.05,
                     what=f"a publication to have uploaded its media: {worker.log()}")
    key = found[0].name.removeprefix("uploaded-")
    killed = Publication.objects.get(idempotency_key=key)
    assert killed.status == PS.SENDING and killed.post_id == post_id
    worker.kill()  # between the uploads and the status: the status was never asked for
    (pause_dir / "release").write_text("go")
    return killed.language


def _published(post_id: int, worker) -> None:
    def states() -> str:
        return f"{list(Publication.objects.filter(post_id=post_id).values_list('language', 'status', 'last_error'))}"

    wait_for(lambda: Post.objects.get(id=post_id).state != PostState.PUBLISHING, timeout=150, interval=0.5,
             what=f"the post to settle: {states()}\n{worker.log()}")
    assert Post.objects.get(id=post_id).state == PostState.PUBLISHED, states()


def _start(start_worker, private_redis, media_root, tmp_path):
    pause = tmp_path / "pause"
    pause.mkdir()
    env = {**WORKER_ENV, "MEDIA_ROOT": str(media_root), "PARLEY_TEST_MEDIA_PAUSE_DIR": str(pause)}
    return start_worker(broker_url=private_redis.url, supervised=True, extra_env=env), pause


@pytest.fixture
def media_dir(settings, tmp_path):
    """The media folder shared by the test and the worker (MEDIA_ROOT in both)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_mastodon_peers_a_kill_between_the_uploads_and_the_status_publishes_once(
        demo, peer_channels, media_dir, start_worker, private_redis, tmp_path):
    peer = peer_channels
    unattached_before = 0
    if peer.name == "takahe":
        from tests.platforms.test_mastodon_media import _unattached_on_takahe

        unattached_before = {u: _unattached_on_takahe(peer, u) for u in ("dpe_en", "dpe_fr")}
    marker = _marker()
    # Approved (its post.approved event waits in the outbox) with its media, then the worker starts.
    post = flows.official(demo, en=f"Notice {marker}: three new passport offices.",
                          fr=f"Avis {marker} : trois nouveaux bureaux de passeports.")
    attach_images(demo, post, 4)
    started = time.monotonic()
    worker, pause = _start(start_worker, private_redis, media_dir, tmp_path)
    killed = _kill_between_upload_and_status(worker, pause, post.id)
    _published(post.id, worker)
    took = time.monotonic() - started
    counts = {}
    for lang, gov, text, index in (("en", peer.gov_en, f"Notice {marker}", 0), ("fr", peer.gov_fr, f"Avis {marker}", 1)):
        statuses = peer.statuses_by_text(gov, text)
        counts[lang] = len(statuses)
        (status,) = statuses
        full = peer.status(status["id"], gov.username)
        descriptions = [m["description"] for m in full["media_attachments"]]
        expected = [alts[index] for alts in ALTS]
        assert (sorted(descriptions) if peer.name == "takahe" else descriptions) == (
            sorted(expected) if peer.name == "takahe" else expected)
        assert Publication.objects.get(post=post, language=lang).external_id == status["id"]
    gov_killed = "dpe_en" if killed == "en" else "dpe_fr"
    if peer.name == "local":
        orphans = len(peer.server.orphans_of(gov_killed))
    else:
        orphans = _unattached_on_takahe(peer, gov_killed) - unattached_before[gov_killed]
    print(f"\n{peer.name}: SIGKILL between the uploads and the status ({killed}): statuses {counts}, "
          f"unattached media left {orphans}, worker restarts {worker.restarts}, settled in {took:.1f} s")
    assert counts == {"en": 1, "fr": 1}
    assert orphans == 4  # the killed attempt's uploads: never attached, harmless


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_bluesky_a_kill_between_the_uploads_and_the_record_publishes_once(
        demo, atproto_stack, make_account, monkeypatch, media_dir, start_worker, private_redis, tmp_path):
    from tests.atproto.test_bluesky_media import _bluesky_channels

    accounts = _bluesky_channels(demo, atproto_stack, make_account, monkeypatch)
    post = flows.official(demo, en="Three new passport offices open today.",
                          fr="Trois nouveaux bureaux de passeports ouvrent aujourd’hui.")
    attach_images(demo, post, 4)
    started = time.monotonic()
    worker, pause = _start(start_worker, private_redis, media_dir, tmp_path)
    killed = _kill_between_upload_and_status(worker, pause, post.id)
    _published(post.id, worker)
    counts = {}
    for lang, index in (("en", 0), ("fr", 1)):
        records = xrpc_get(atproto_stack, "com.atproto.repo.listRecords", repo=accounts[lang].did,
                           collection=bluesky.POST, limit=100)["records"]
        counts[lang] = len(records)
        (record,) = records
        assert [i["alt"] for i in record["value"]["embed"]["images"]] == [alts[index] for alts in ALTS]
        assert Publication.objects.get(post=post, language=lang).external_id == record["uri"]
    print(f"\nbluesky: SIGKILL between the uploads and the record ({killed}): records {counts}, "
          f"worker restarts {worker.restarts}, settled in {time.monotonic() - started:.1f} s")
    assert counts == {"en": 1, "fr": 1}
    bluesky.forget_sessions()
