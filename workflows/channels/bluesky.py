"""Bluesky (the AT Protocol) through the atproto SDK, on the outbound door's httpx client.

**Exactly once without trusting the server.** Every post is written with
`com.atproto.repo.putRecord` under a record key derived from the publication's idempotency key
(a valid TID), with `swapRecord: null` ("only if there is no record there") and a fixed
`createdAt` (the publication's). A replay of the same publication is byte-identical: the PDS
answers 200 with the same URI and writes nothing; different content under the same key answers
`InvalidSwap`. `lookup` is a `getRecord` of that key. Likes and reposts use the same scheme, so
engaging twice with one key leaves one record.

**Sessions** are created once per channel and process, refreshed by the SDK before the access
token expires, and shared with other processes through Django's cache (the SDK's session-change
callback stores every new session); `createSession` is limited to 30 per 5 minutes per account.

adapter_config: {"base_url": "https://bsky.social" (the account's PDS; optional),
"handle": "dpe.bsky.social" (optional, else the channel's handle),
"password_env": "ENV_VAR_WITH_APP_PASSWORD"}.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache

from ..links import find_links
from .base import (
    Account,
    Adapter,
    AmbiguousError,
    AuthError,
    InboundItem,
    Limits,
    MediaItem,
    MediaLimits,
    MediaRefused,
    OutboundMessage,
    Page,
    ParentGone,
    PermanentError,
    RateLimited,
    Result,
    ThreadRef,
    TransientError,
)

log = logging.getLogger("parley.bluesky")

POST = "app.bsky.feed.post"
IMAGES = "app.bsky.embed.images"
VIDEO = "app.bsky.embed.video"
#: app.bsky.embed.images takes 4 images; app.bsky.embed.video one video (with up to 20 captions
#: files of text/vtt, 20,000 bytes each; its alt text at most 1,000 graphemes).
MAX_IMAGES = 4
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
VIDEO_MAX_BYTES = 100_000_000
CAPTIONS_MAX_BYTES = 20_000
VIDEO_ALT_GRAPHEMES = 1000
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
MAX_GRAPHEMES = 300
DEFAULT_BASE_URL = "https://bsky.social"
#: Errors that mean the credentials or the session are not accepted.
AUTH_ERRORS = {"AuthenticationRequired", "ExpiredToken", "InvalidToken", "AuthMissing", "AccountTakedown",
               "AccountDeactivated", "InvalidPassword"}
LISTEN_REASONS = {"mention": "mention", "reply": "reply", "quote": "quote"}

_S32 = "234567abcdefghijklmnopqrstuvwxyz"
#: Likes and reposts have no creation time of their own to put in their key: a fixed epoch.
_ENGAGE_EPOCH_US = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)


def _s32(value: int, length: int) -> str:
    out = ""
    for _ in range(length):
        out = _S32[value & 31] + out
        value >>= 5
    return out


def tid_for(key: str, when: datetime | None = None) -> str:
    """A valid TID (13 base32-sortable characters: 53 bits of microseconds, 10 of clock id) that
    depends only on `key` (and `when`, the record's fixed creation time): the same publication
    always gets the same record key. The time keeps millisecond precision; the microseconds and
    the clock id come from the key's hash (20 bits), so two records created in the same
    millisecond still get different keys."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    if when is None:
        micros = _ENGAGE_EPOCH_US + (digest >> 24) % (365 * 86400 * 1_000_000)
    else:
        micros = int(when.timestamp() * 1000) * 1000 + (digest >> 10) % 1000
    clock = digest & 0x3FF
    return _s32(((micros & ((1 << 53) - 1)) << 10) | clock, 13)


def post_url(handle: str, uri: str) -> str:
    """at://did/app.bsky.feed.post/<rkey> → https://bsky.app/profile/<handle>/post/<rkey>."""
    rkey = uri.rsplit("/", 1)[-1]
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts them."""
    import regex

    return len(regex.findall(r"\X", text))


def fit_image(data: bytes, content_type: str, max_bytes: int) -> tuple[bytes, str]:
    """The image as sent to Bluesky: as it is when it fits in `max_bytes`; otherwise re-encoded
    as JPEG (transparency flattened on white, an animation's first frame), at quality 85, 75,
    65, then scaled down by a fifth at a time until it fits. Deterministic: the same bytes give
    the same blob (the same CID) on every attempt, so a replayed record is byte-identical."""
    if len(data) <= max_bytes:
        return data, content_type
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.seek(0)
        frame = img.convert("RGBA") if img.mode in ("RGBA", "LA", "P", "PA") else img.convert("RGB")
    if frame.mode == "RGBA":
        flat = Image.new("RGB", frame.size, (255, 255, 255))
        flat.paste(frame, mask=frame.getchannel("A"))
        frame = flat
    width, height = frame.size
    scaled = frame
    for step in range(30):
        for quality in (85, 75, 65):
            out = io.BytesIO()
            scaled.save(out, format="JPEG", quality=quality, optimize=False, progressive=False)
            if out.tell() <= max_bytes:
                return out.getvalue(), "image/jpeg"
        factor = 0.8 ** (step + 1)
        scaled = frame.resize((max(1, round(width * factor)), max(1, round(height * factor))), Image.Resampling.LANCZOS)
    raise PermanentError("could not make the image small enough for Bluesky")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- facets ------------------------------------------------------------------------------------

_MENTION_RE = re.compile(r"(?<![\w@.])@([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+)")


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    """Facets index UTF-8 bytes, not code points."""
    return {"byteStart": len(text[:start].encode("utf-8")), "byteEnd": len(text[:end].encode("utf-8"))}


def facets_for(text: str, resolve: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Link and mention facets for `text`; `resolve(handle) -> did | None` (unknown handles stay
    plain text). Links come from workflows.links, the extractor the link-domains rule checks
    with: every web link it finds (http, https, or a bare domain, www. or //host, published as
    https) becomes a facet, so what Bluesky shows as a link is what the rule checked."""
    facets: list[dict[str, Any]] = []
    for link in find_links(text):
        if not link.clickable:
            continue  # ftp:, data:, hxxps:… are refused or defanged; never made clickable here
        facets.append({"index": _byte_range(text, link.start, link.end),
                       "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link.url}]})
    for match in _MENTION_RE.finditer(text):
        handle = match.group(1).rstrip(".")
        did = resolve(handle.lower())
        if did:
            facets.append({"index": _byte_range(text, match.start(), match.start() + 1 + len(handle)),
                           "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]})
    return sorted(facets, key=lambda f: f["index"]["byteStart"])


def text_for(msg: OutboundMessage) -> str:
    """The text to post: a reply names the citizen it answers (unless the text already does)."""
    body = msg.body
    handle = (msg.reply_to.author_handle if msg.reply_to else "").lstrip("@")
    if handle and f"@{handle}".lower() not in body.lower():
        body = f"@{handle} {body}"
    return body


# --- the SDK on the outbound door ---------------------------------------------------------------


def _request_class() -> Any:
    from atproto_client.request import Request, RequestBase

    from .. import outbound

    class OutboundRequest(Request):
        """The SDK's request layer on `outbound.httpx_client` (SSRF guard, PUBLISH_HTTP_TIMEOUT)."""

        def __init__(self, timeout: float | None = None) -> None:
            RequestBase.__init__(self)  # not Request's: it would open a plain httpx.Client
            self._timeout = timeout
            self._client_kwargs: dict[str, Any] = {}
            self._client = outbound.httpx_client(timeout=timeout)

        def _new_instance(self):  # type: ignore[no-untyped-def]
            return type(self)(self._timeout)

    return OutboundRequest


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def forget_sessions() -> None:
    """Drop the sessions cached in this process (tests; a changed password)."""
    with _clients_lock:
        _clients.clear()


def classify(exc: BaseException) -> Exception:
    """The SDK's exception (or an httpx one) → Parley's error types, by type and XRPC error name."""
    from atproto_client import exceptions as ex

    from ..outbound import classify_httpx_error

    if isinstance(exc, ex.LoginRequiredError):
        return AuthError("not logged in to Bluesky")
    if isinstance(exc, ex.RequestErrorBase):
        response = exc.response
        if response is None:  # transport failure: look at the httpx exception underneath
            return classify_httpx_error(exc)
        status = response.status_code
        name = _error_name(exc)
        detail = f"Bluesky answered {status} {name}".strip()
        if isinstance(exc, ex.RateLimitExceededError) or status == 429:
            retry_after = getattr(exc, "retry_after", None)
            reset_at = getattr(exc, "reset_at", None)
            if retry_after is None and reset_at is not None:
                retry_after = max((reset_at - datetime.now(UTC)).total_seconds(), 0.0)
            return RateLimited(detail, retry_after=retry_after)
        if status == 401 or name in AUTH_ERRORS or isinstance(exc, ex.UnauthorizedError):
            return AuthError(f"{detail}: the channel's credentials were refused")
        if status >= 500:
            return TransientError(detail)
        if name == "RecordNotFound":
            return ParentGone(f"{detail}: {_error_message(exc)}")
        return PermanentError(f"{detail}: {_error_message(exc)}")
    if isinstance(exc, AuthError | TransientError | PermanentError | AmbiguousError):
        return exc
    return classify_httpx_error(exc)


def _error_name(exc: Any) -> str:
    content = getattr(getattr(exc, "response", None), "content", None)
    return str(getattr(content, "error", "") or (content.get("error", "") if isinstance(content, dict) else ""))


def _error_message(exc: Any) -> str:
    content = getattr(getattr(exc, "response", None), "content", None)
    return str(getattr(content, "message", "") or (content.get("message", "") if isinstance(content, dict) else ""))


class BlueskyAdapter(Adapter):
    name = "bluesky"
    can_lookup = True

    # --- session ---------------------------------------------------------------------------------

    @property
    def handle(self) -> str:
        return (self.config.get("handle") or self.channel.handle or "").lstrip("@")

    @property
    def base_url(self) -> str:
        return (self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    def _cache_key(self) -> str:
        ident = hashlib.sha256(f"{self.base_url}|{self.handle}".encode()).hexdigest()[:16]
        return f"bluesky-session:{getattr(self.channel, 'pk', '')}:{ident}"

    def client(self) -> Any:
        """This channel's logged-in client, reused across sends in this process."""
        key = self._cache_key()
        with _clients_lock:
            client = _clients.get(key)
        if client is not None:
            return client
        client = self._login(key)
        with _clients_lock:
            _clients[key] = client
        return client

    def _login(self, key: str) -> Any:
        from atproto import Client
        from atproto_client import exceptions as ex

        client = Client(base_url=self.base_url,
                        request=_request_class()(timeout=settings.PUBLISH_HTTP_TIMEOUT))

        def remember(_event: Any, session: Any) -> None:
            cache.set(key, session.encode(), timeout=60 * 60 * 24 * 60)

        client.on_session_change(remember)
        stored = cache.get(key)
        if stored:
            try:  # an earlier session (another worker's, or before a restart): refresh, not login
                client.login(session_string=stored, fetch_bsky_profile=False)
                return client
            except ex.AtProtocolError as exc:
                error = classify(exc)
                if not isinstance(error, AuthError):
                    raise error from exc
                cache.delete(key)  # revoked or expired: log in again below
        password = self.secret("password_env")
        if not password:
            raise AuthError("This Bluesky channel has no password_env (an app password's variable).")
        try:
            client.login(self.handle, password, fetch_bsky_profile=False)
        except ex.AtProtocolError as exc:
            raise classify(exc) from exc  # nothing was posted: never ambiguous for a send
        except Exception as exc:  # noqa: BLE001 - httpx errors the SDK did not wrap
            raise classify(exc) from exc
        return client

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one SDK call; on an expired/revoked session, log in again once and retry (the
        request was refused, so nothing was written)."""
        from atproto_client import exceptions as ex

        for attempt in (1, 2):
            client = self.client()
            try:
                return fn(client, *args, **kwargs)
            except ex.AtProtocolError as exc:
                error = classify(exc)
                if isinstance(error, AuthError) and attempt == 1 and _error_name(exc) in ("ExpiredToken", "InvalidToken"):
                    with _clients_lock:
                        _clients.pop(self._cache_key(), None)
                    cache.delete(self._cache_key())
                    continue
                raise error from exc
            except (AuthError, TransientError, PermanentError, AmbiguousError):
                raise
            except Exception as exc:  # noqa: BLE001 - httpx errors below the SDK
                raise classify(exc) from exc
        raise AssertionError("unreachable")

    def _xrpc(self, client: Any, method: str, nsid: str, *, params: dict | None = None,
              body: dict | None = None) -> Any:
        """A raw XRPC call (the body is sent as given: `swapRecord: null` must stay a JSON null)."""
        if method == "GET":
            response = client.invoke_query(nsid, params=_RawParams(params or {}))
        else:
            response = client.invoke_procedure(nsid, content=json.dumps(body).encode(),
                                               headers={"Content-Type": "application/json"})
        return response.content

    def query(self, nsid: str, **params: Any) -> Any:
        try:
            return self._call(lambda c: self._xrpc(c, "GET", nsid, params={k: v for k, v in params.items() if v is not None}))
        except AmbiguousError as exc:  # a read that timed out changed nothing: just not answered
            raise TransientError(f"no answer from Bluesky: {exc}") from exc

    def procedure(self, nsid: str, body: dict) -> Any:
        return self._call(lambda c: self._xrpc(c, "POST", nsid, body=body))

    # --- the contract ----------------------------------------------------------------------------

    def limits(self) -> Limits:
        return Limits(max_length=MAX_GRAPHEMES, unit="graphemes")

    @classmethod
    def text_length(cls, text: str, limits: Limits | None = None) -> int:
        """Bluesky's one count (guideline, live counter, preflight): grapheme clusters."""
        return graphemes(text)

    def preflight(self, msgs: list[OutboundMessage]) -> None:
        """Every text fits (graphemes), every message's media are what Bluesky takes, and the
        credentials work *now*: an authenticated call to the server (getSession) at every
        preflight, never a session this process merely remembers; an expired session is
        refreshed or created again, a revoked one refused."""
        self.checked_limits = self.limits()
        for msg in msgs:
            length = self.text_length(text_for(msg))
            if length > MAX_GRAPHEMES:
                raise PermanentError(
                    f"The {msg.language} text is {length} graphemes long; Bluesky accepts {MAX_GRAPHEMES}.")
        self.check_media(msgs)
        self._session_info()
        for msg in msgs:
            self.parent_exists(msg)

    def parent_exists(self, msg: OutboundMessage) -> None:
        """A reply's parent is still there (`getRecord`): ParentGone on `RecordNotFound` (the
        citizen deleted it: the reply is held). Any other refusal (a repo this PDS cannot read)
        says nothing about the parent and does not stop the send."""
        parent = msg.reply_to.uri if msg.reply_to else ""
        if not (parent.startswith("at://") and parent.count("/") >= 4):
            return
        repo, collection, rkey = parent[len("at://"):].split("/")[:3]
        try:
            self.query("com.atproto.repo.getRecord", repo=repo, collection=collection, rkey=rkey)
        except ParentGone:
            raise
        except PermanentError as exc:
            log.info("bluesky: could not check the parent %s (%s): sending anyway", parent, exc)

    def verify(self) -> Account:
        session = self._session_info()
        handle = session.get("handle") or self.handle
        profile_name = ""
        try:
            profile = self.query("app.bsky.actor.getProfile", actor=session.get("did") or handle)
            profile_name = profile.get("displayName") or ""
        except PermanentError:
            pass  # a PDS without an AppView: the handle is enough
        return Account(handle=handle, display_name=profile_name, url=f"https://bsky.app/profile/{handle}")

    def _session_info(self) -> dict:
        return self.query("com.atproto.server.getSession")

    def _repo(self) -> str:
        session = self.client()._session  # noqa: SLF001 - the SDK keeps the logged-in DID there
        return session.did

    def record_for(self, msg: OutboundMessage) -> dict[str, Any]:
        text = text_for(msg)
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": _iso(msg.created_at)}
        if msg.language:
            record["langs"] = [msg.language]
        facets = facets_for(text, self._resolve_handle)
        if facets:
            record["facets"] = facets
        ref = msg.reply_to
        if ref is not None and ref.uri and ref.cid:
            record["reply"] = {
                "root": {"uri": ref.root_uri or ref.uri, "cid": ref.root_cid or ref.cid},
                "parent": {"uri": ref.uri, "cid": ref.cid},
            }
        return record

    def _resolve_handle(self, handle: str) -> str | None:
        cache_key = f"bluesky-did:{self.base_url}:{handle}"
        did = cache.get(cache_key)
        if did:
            return did
        try:
            did = self.query("com.atproto.identity.resolveHandle", handle=handle).get("did")
        except PermanentError:
            return None  # not a handle anyone has: leave it as text
        cache.set(cache_key, did, timeout=3600)
        return did

    # --- media (issue 22) ------------------------------------------------------------------------

    def media_limits(self) -> MediaLimits:
        """Four images (re-encoded at send time when larger than BLUESKY_IMAGE_MAX_BYTES), or one
        video alone (MP4, captions of at most 20,000 bytes of WebVTT)."""
        return MediaLimits(max_count=MAX_IMAGES, types=IMAGE_TYPES | {"video/mp4"}, image_bytes=None,
                           video_bytes=VIDEO_MAX_BYTES, alt_length=None, video_alone=True,
                           captions_bytes=CAPTIONS_MAX_BYTES)

    def check_media(self, msgs: list[OutboundMessage]) -> None:
        super().check_media(msgs)
        for msg in msgs:
            for item in msg.media:
                if item.kind == "video" and graphemes(item.alt) > VIDEO_ALT_GRAPHEMES:
                    raise MediaRefused("publish.media.alt_too_long", {
                        "platform": "Bluesky", "language": msg.language, "position": item.position,
                        "length": graphemes(item.alt), "limit": VIDEO_ALT_GRAPHEMES},
                        f"the {msg.language} alternative text of video {item.position} is {graphemes(item.alt)} "
                        f"graphemes; Bluesky takes {VIDEO_ALT_GRAPHEMES}")

    def _upload_blob(self, data: bytes, content_type: str, item: MediaItem) -> dict[str, Any]:
        """`com.atproto.repo.uploadBlob`: the blob reference to embed. The PDS addresses blobs
        by content, so uploading the same bytes again gives the same reference; an unclear
        outcome here made no record (TransientError, never AmbiguousError)."""
        def upload(client: Any) -> Any:
            return client.invoke_procedure("com.atproto.repo.uploadBlob", content=data,
                                           headers={"Content-Type": content_type}).content
        try:
            out = self._call(upload)
        except AmbiguousError as exc:
            raise TransientError(f"media: {exc}") from exc
        except AuthError:
            raise
        except PermanentError as exc:
            raise MediaRefused("publish.media.refused", {"platform": "Bluesky", "position": item.position,
                                                         "content_type": content_type},
                               f"Bluesky refused medium {item.position}: {exc}") from exc
        blob = out.get("blob") if isinstance(out, dict) else None
        if not isinstance(blob, dict):
            raise TransientError("Bluesky answered an upload without a blob")
        return blob

    def embed_for(self, msg: OutboundMessage) -> dict[str, Any] | None:
        """Upload the message's media and return the post's embed: `app.bsky.embed.images` (each
        image with its `alt` in the message's language and its `aspectRatio`), or
        `app.bsky.embed.video` (the video, `alt`, `aspectRatio`, and its captions as a text/vtt
        blob in the message's language). None without media."""
        if not msg.media:
            return None
        limit = int(settings.BLUESKY_IMAGE_MAX_BYTES)
        video = next((m for m in msg.media if m.kind == "video"), None)
        if video is not None:
            embed: dict[str, Any] = {"$type": VIDEO, "video": self._upload_blob(video.read(), video.content_type, video),
                                     "alt": video.alt}
            if video.captions.strip():
                vtt = self._upload_blob(video.captions.encode(), "text/vtt", video)
                embed["captions"] = [{"lang": msg.language or "en", "file": vtt}]
            ratio = _aspect(video)
            if ratio:
                embed["aspectRatio"] = ratio
            return embed
        images = []
        for item in msg.media:
            data, content_type = fit_image(item.read(), item.content_type, limit)
            image: dict[str, Any] = {"image": self._upload_blob(data, content_type, item), "alt": item.alt}
            ratio = _aspect(item)
            if ratio:
                image["aspectRatio"] = ratio
            images.append(image)
        return {"$type": IMAGES, "images": images}

    def send(self, msg: OutboundMessage) -> Result:
        rkey = tid_for(msg.idempotency_key, msg.created_at)
        record = self.record_for(msg)
        embed = self.embed_for(msg)  # the blobs first: a crash here leaves unreferenced blobs only
        if embed is not None:
            record["embed"] = embed
        repo = self._repo()
        try:
            out = self.procedure("com.atproto.repo.putRecord", {
                "repo": repo, "collection": POST, "rkey": rkey, "record": record, "swapRecord": None,
            })
        except PermanentError as exc:
            if "InvalidSwap" in str(exc):
                raise PermanentError(
                    f"another post already holds this publication's record key ({rkey}) with different "
                    f"content: not overwritten") from exc
            raise
        return Result(external_id=out["uri"], url=post_url(self.handle, out["uri"]))

    def lookup(self, msg: OutboundMessage, since: datetime | None = None) -> Result | None:
        """The post under this publication's record key (from its key and fixed creation time);
        None only when the PDS answers that it is not there (RecordNotFound)."""
        rkey = tid_for(msg.idempotency_key, msg.created_at)
        try:
            out = self.query("com.atproto.repo.getRecord", repo=self._repo(), collection=POST, rkey=rkey)
        except PermanentError as exc:
            if "RecordNotFound" in str(exc):
                return None
            raise
        return Result(external_id=out["uri"], url=post_url(self.handle, out["uri"]))

    def retract(self, external_id: str) -> None:
        # at://<did>/<collection>/<rkey>
        parts = external_id.removeprefix("at://").split("/")
        if len(parts) != 3:
            raise PermanentError(f"{external_id!r} is not an AT URI of a record")
        self.procedure("com.atproto.repo.deleteRecord", {"repo": parts[0], "collection": parts[1], "rkey": parts[2]})

    def engage(self, action: str, target: ThreadRef, idempotency_key: str) -> Result:
        collection = {"like": LIKE, "boost": REPOST, "repost": REPOST}.get(action)
        if collection is None:
            raise PermanentError(f"Bluesky cannot {action!r} a post")
        if not (target.uri and target.cid):
            raise PermanentError("the post to engage with has no uri/cid")
        rkey = tid_for(f"{collection}|{idempotency_key}")
        repo = self._repo()
        record = {"$type": collection, "subject": {"uri": target.uri, "cid": target.cid},
                  "createdAt": _iso(datetime.now(UTC))}
        try:
            out = self.procedure("com.atproto.repo.putRecord", {
                "repo": repo, "collection": collection, "rkey": rkey, "record": record, "swapRecord": None,
            })
            uri = out["uri"]
        except PermanentError as exc:
            if "InvalidSwap" not in str(exc):
                raise
            # Already there (an earlier attempt, with its own createdAt): the same subject is done.
            existing = self.query("com.atproto.repo.getRecord", repo=repo, collection=collection, rkey=rkey)
            if (existing.get("value") or {}).get("subject", {}).get("uri") != target.uri:
                raise PermanentError(f"record key {rkey} already holds another {action}") from exc
            uri = existing["uri"]
        return Result(external_id=uri, url=target.uri)

    # --- listening -------------------------------------------------------------------------------

    def fetch_mentions(self, cursor: str = "", *, max_pages: int = 10) -> Page:
        """Mentions, replies and quotes indexed after `cursor` (an indexedAt timestamp), oldest
        first; the new cursor is the newest indexedAt seen."""
        items: list[InboundItem] = []
        newest = cursor
        page_cursor = None
        for _ in range(max_pages):
            out = self.query("app.bsky.notification.listNotifications", limit=50, cursor=page_cursor)
            notes = out.get("notifications") or []
            done = False
            for note in notes:
                indexed = note.get("indexedAt") or ""
                if cursor and indexed <= cursor:
                    done = True
                    continue
                newest = max(newest, indexed)
                kind = LISTEN_REASONS.get(note.get("reason", ""))
                if kind is None:
                    continue
                items.append(self._item(note, kind))
            page_cursor = out.get("cursor")
            if done or not notes or not page_cursor:
                break
        items.sort(key=lambda i: i.created_at)
        return Page(items=items, cursor=newest)

    def fetch_stream(self, query: str, cursor: str = "", *, max_pages: int = 4) -> Page:
        """Posts matching a saved search (e.g. "#parley"), indexed after `cursor`: kind community."""
        items: list[InboundItem] = []
        newest = cursor
        page_cursor = None
        me = self._repo()
        for _ in range(max_pages):
            out = self.query("app.bsky.feed.searchPosts", q=query, sort="latest", limit=50, cursor=page_cursor)
            posts = out.get("posts") or []
            done = False
            for post in posts:
                indexed = post.get("indexedAt") or ""
                if cursor and indexed <= cursor:
                    done = True
                    continue
                newest = max(newest, indexed)
                if (post.get("author") or {}).get("did") == me:
                    continue  # our own posts are not community talk
                items.append(self._item(post, "community"))
            page_cursor = out.get("cursor")
            if done or not posts or not page_cursor:
                break
        items.sort(key=lambda i: i.created_at)
        return Page(items=items, cursor=newest)

    def _item(self, view: dict, kind: str) -> InboundItem:
        """A notification or a post view → InboundItem (thread refs to answer in place)."""
        record = view.get("record") or {}
        author = view.get("author") or {}
        handle = author.get("handle") or ""
        reply = record.get("reply") or {}
        root = reply.get("root") or {}
        langs = record.get("langs") or []
        return InboundItem(
            external_id=view["uri"], kind=kind,
            author=author.get("displayName") or handle, author_handle=handle,
            text=record.get("text") or "", created_at=_parse_time(record.get("createdAt") or view.get("indexedAt")),
            language=langs[0] if langs else "", visibility="public", url=post_url(handle, view["uri"]),
            thread=ThreadRef(external_id=view["uri"], uri=view["uri"], cid=view.get("cid") or "",
                             root_uri=root.get("uri") or view["uri"], root_cid=root.get("cid") or view.get("cid") or "",
                             author_handle=handle, visibility="public"),
        )


def _aspect(item: MediaItem) -> dict[str, int] | None:
    """`aspectRatio` from the stored width and height (None when unknown)."""
    if item.width and item.height and item.width > 0 and item.height > 0:
        return {"width": int(item.width), "height": int(item.height)}
    return None


class _RawParams(dict):
    """Query parameters passed as they are (the SDK dumps them like one of its models)."""

    def model_dump(self, **_kwargs: Any) -> dict:
        return dict(self)
