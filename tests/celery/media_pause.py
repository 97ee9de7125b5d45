"""A worker hook for the media chaos tests (tests/celery/test_media_chaos.py), loaded by the test
worker's settings when PARLEY_TEST_WORKER_HOOKS names this module. Never part of Parley.

In each pool process, after an adapter has uploaded a publication's media and before it creates
the status (Mastodon) or writes the record (Bluesky), it writes `uploaded-<key>` into
PARLEY_TEST_MEDIA_PAUSE_DIR and waits (at most 60 s) until a `release` file appears there, so
the test can SIGKILL the worker exactly between the uploads and the status. Once per
publication: the attempt after the kill finds its marker and goes straight on."""
from __future__ import annotations

import os
import time
from pathlib import Path

from celery.signals import worker_process_init


def _pause(key: str) -> None:
    folder = Path(os.environ["PARLEY_TEST_MEDIA_PAUSE_DIR"])
    marker = folder / f"uploaded-{key}"
    if marker.exists() or (folder / "release").exists():
        return
    marker.write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (folder / "release").exists():
        time.sleep(0.05)


@worker_process_init.connect
def install(**_kwargs) -> None:
    from workflows.channels.bluesky import BlueskyAdapter
    from workflows.channels.mastodon import MastodonAdapter

    upload_media = MastodonAdapter.upload_media
    embed_for = BlueskyAdapter.embed_for

    def paused_upload_media(self, msg):
        ids = upload_media(self, msg)
        if ids:
            _pause(msg.idempotency_key)
        return ids

    def paused_embed_for(self, msg):
        embed = embed_for(self, msg)
        if embed is not None:
            _pause(msg.idempotency_key)
        return embed

    MastodonAdapter.upload_media = paused_upload_media  # type: ignore[method-assign]
    BlueskyAdapter.embed_for = paused_embed_for  # type: ignore[method-assign]
