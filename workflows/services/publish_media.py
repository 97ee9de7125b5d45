"""A publication's media as the adapters receive them (issue 22; docs/publishing.md, "Media").

`media_items(pub, rows)` turns the post's `PostMedium` rows into the `MediaItem`s of one
publication: the media shared by both languages and those of the publication's language, in
order; the alternative text and captions in that language (never the other's: no fallback);
the bytes read from Django's storage only when an adapter asks (`read`); a signed link that
expires (`url`, for the webhook receiver, served by `workflows/web/media_signed.py`).

**Replays are byte-identical.** Everything here derives from the publication's fixed data: the
key from its idempotency key and the position, the link's expiry from its `created_at`. The
link is signed with `django.core.signing.Signer` over (medium id, expiry) — not a
`TimestampSigner`, which would sign the time of each attempt — and the expiry is checked here:
`created_at + k × MEDIA_SIGNED_URL_TTL`, with the smallest k ≥ 1 that leaves at least half the
TTL from now. A first attempt and every retry in the next half TTL carry exactly the link of the
first; a retry hours later (a person's Retry) gets a link that still works, fixed in its turn.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from ..channels.base import MediaItem
from ..models import Medium, PostMedium, Publication

SALT = "parley.media-signed"


class MediaLinkRefused(Exception):
    """A signed media link that is tampered with, malformed or expired (the view answers 403)."""


class MediaGone(Exception):
    """The medium a valid link names was deleted since (the view answers 404)."""


def read_stored(name: str) -> bytes:
    """The bytes of a stored file (Django's storage API: the filesystem or an S3 bucket)."""
    with default_storage.open(name, "rb") as fh:
        return fh.read()


def link_expiry(created_at: datetime, *, now: datetime | None = None) -> datetime:
    """When the media links of a publication created at `created_at` expire, seen at `now`:
    `created_at + k × TTL`, the smallest k ≥ 1 leaving at least half the TTL (module docstring)."""
    ttl = max(1, int(settings.MEDIA_SIGNED_URL_TTL))
    now = now or timezone.now()
    elapsed = (now - created_at).total_seconds()
    k = max(1, math.ceil((elapsed + ttl / 2) / ttl))
    return created_at + timedelta(seconds=k * ttl)


def media_token(medium_id: int, expires_at: datetime) -> str:
    """The signed token of a media link: (medium id, expiry in whole seconds)."""
    return signing.Signer(salt=SALT).sign_object({"m": int(medium_id), "e": int(expires_at.timestamp())})


def signed_media_url(medium_id: int, expires_at: datetime) -> str:
    """The absolute link to a medium for a webhook receiver, or "" when the site's public
    address (PUBLIC_URL) is not set: a worker knows no request to take a host from."""
    base = (getattr(settings, "PUBLIC_URL", "") or "").rstrip("/")
    if not base:
        return ""
    return base + reverse("media-signed", args=[media_token(medium_id, expires_at)])


def medium_for_token(token: str, *, now: datetime | None = None) -> Medium:
    """The medium a signed link names. Raises MediaLinkRefused (tampered, malformed, expired:
    403) or MediaGone (deleted since: 404). Reads one row."""
    try:
        data = signing.Signer(salt=SALT).unsign_object(token[:500])
        medium_id, expires = int(data["m"]), int(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise MediaLinkRefused("not a valid media link") from exc
    if (now or timezone.now()) >= datetime.fromtimestamp(expires, UTC):
        raise MediaLinkRefused("this media link has expired")
    try:
        return Medium.objects.only("id", "file", "content_type", "size").get(id=medium_id)
    except Medium.DoesNotExist as exc:
        raise MediaGone("this medium is gone") from exc


def post_media_rows(post_ids: Iterable[int]) -> dict[int, list[PostMedium]]:
    """Every medium of `post_ids`, in order, with its file's row: one query."""
    rows: dict[int, list[PostMedium]] = {}
    ids = list(post_ids)
    if not ids:
        return rows
    for pm in (PostMedium.objects.filter(post_id__in=ids).select_related("medium")
               .order_by("post_id", "position", "id")):
        rows.setdefault(pm.post_id, []).append(pm)
    return rows


def media_items(pub: Publication, rows: list[PostMedium], *, now: datetime | None = None) -> tuple[MediaItem, ...]:
    """The MediaItems of `pub` from its post's media `rows` (ordered): those for both languages
    and those for its language; texts in its language only."""
    lang = pub.language
    mine = [pm for pm in rows if not pm.language or pm.language == lang]
    if not mine:
        return ()
    expires = link_expiry(pub.created_at, now=now)
    items = []
    for n, pm in enumerate(mine, start=1):
        medium = pm.medium
        items.append(MediaItem(
            key=f"{pub.idempotency_key}.m{n}", kind=medium.kind, content_type=medium.content_type,
            read=partial(read_stored, medium.file.name),
            alt=(getattr(pm, f"alt_text_{lang}", "") or "").strip(),
            captions=getattr(pm, f"captions_{lang}", "") or "",
            focus=(float(pm.focus_x), float(pm.focus_y)), width=medium.width, height=medium.height,
            duration=medium.duration, url=signed_media_url(medium.id, expires), size=medium.size, position=n,
        ))
    return tuple(items)
