"""Mastodon through Mastodon.py, on the outbound door's requests session (SSRF guard, reuse).

adapter_config: {"api_base_url": "https://social.example", "token_env": "ENV_VAR_WITH_TOKEN",
"visibility": "public"} — `visibility` is the widest the channel posts with (a reply is never
wider than the citizen's message).

Exactly once without trusting the server: a server may ignore `Idempotency-Key`, and Mastodon's
own check is written only after the status is created (a retry while the first request still
runs makes a second status). So after any unclear outcome the delivery service *looks before
sending again*: `lookup(msg, since)` reads a reply's thread (the parent's context, where a reply of
any visibility is visible to its author) and, for a post or a public/unlisted reply, lists the
account's own statuses back to `since` (servers need not list followers-only or direct statuses
there), matching the reply target and the text. It answers None only when the server answered
and the status is not there. See docs/publishing.md, "Mastodon".
"""
from __future__ import annotations

import html
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

import requests
from django.conf import settings

from ..outbound import classify_requests_error, requests_session
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
    NotSentError,
    OutboundMessage,
    Page,
    ParentGone,
    PermanentError,
    RateLimited,
    Result,
    ThreadRef,
    TransientError,
    Unthreaded,
)

log = logging.getLogger("parley.mastodon")

#: Widest first: a reply uses the narrowest of the channel's, the message's and the citizen's.
VISIBILITY_ORDER = ("public", "unlisted", "private", "direct")
#: How far before `since` lookup still reads (the server's clock may run behind ours).
LOOKUP_CLOCK_SLACK = timedelta(minutes=10)
LOOKUP_MAX_PAGES = 25
PAGE_LIMIT = 40
#: Pages read per fetch_* call at most (the next poll resumes from the cursor).
LISTEN_MAX_PAGES = 5
INSTANCE_TTL = 3600.0
#: Limits assumed because the server did not tell them are asked again after this (seconds).
INSTANCE_FALLBACK_TTL = 300.0
#: Without a trailing slash: Takahē routes only these (Mastodon answers both forms).
INSTANCE_PATHS = ("/api/v2/instance", "/api/v1/instance")
#: Mastodon's documented defaults, used when an instance does not tell its own.
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_LENGTH = 23
#: Servers (by the instance's `version` / `source_url`) that count a status's length in code
#: points whatever they advertise per URL: Takahē (api/views/statuses.py, `len(status)`).
CODE_POINT_SOFTWARE = ("takahe",)

#: Mastodon's documented media defaults (a server that tells none): 4 per status, 16 MB per
#: image, 99 MB per video, 1,500 characters of description.
DEFAULT_MAX_MEDIA = 4
DEFAULT_IMAGE_BYTES = 16 * 1024 * 1024
DEFAULT_VIDEO_BYTES = 99 * 1024 * 1024
DEFAULT_DESCRIPTION_LIMIT = 1500
MEDIA_PATHS = ("/api/v2/media", "/api/v1/media")

URL_RE = re.compile(r"https?://[^\s<>\"]+")
MENTION_RE = re.compile(r"(?<![\w/@])@([A-Za-z0-9_]+)(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?")
TAG_BREAK_RE = re.compile(r"<\s*(br|/p)\s*/?\s*>", re.I)
TAG_RE = re.compile(r"<[^>]+>")


def narrowest(*visibilities: str) -> str:
    """The narrowest of the given visibilities (unknown or empty ones are ignored)."""
    known = [v for v in visibilities if v in VISIBILITY_ORDER]
    return max(known, key=VISIBILITY_ORDER.index) if known else "public"


def html_to_text(content: str) -> str:
    """Mastodon's HTML content as plain text (paragraphs and line breaks kept as new lines)."""
    text = TAG_BREAK_RE.sub("\n", content or "")
    return html.unescape(TAG_RE.sub("", text)).strip()


def normalise(text: str) -> str:
    """What two renderings of one status have in common: no mentions (a server shows a remote
    `@user@host` as `@user`), no markup, no whitespace differences, case-folded."""
    text = unicodedata.normalize("NFC", html.unescape(text or ""))
    text = MENTION_RE.sub(" ", text)
    return " ".join(text.split()).casefold()


def weighted_length(text: str, *, url_length: int = 23) -> int:
    """Mastodon's count (its StatusLengthValidator): every URL as `url_length`, a remote mention
    `@user@domain` as `@user`, and one per grapheme cluster (what a reader sees as a character)."""
    import regex

    text = URL_RE.sub("x" * url_length, text)
    text = MENTION_RE.sub(lambda m: "@" + m.group(1), text)
    return len(regex.findall(r"\X", text))


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)  # Mastodon ids are numeric strings: longer is larger


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class _Client:
    """One channel's Mastodon.py client in one thread, with what it learnt (who it is, the
    instance's limits) and the last response's headers (Mastodon.py drops them on errors)."""

    def __init__(self, api: Any, session: requests.Session) -> None:
        self.api = api
        self.session = session
        self.last_headers: dict[str, str] = {}
        #: The start of the last error answer's body (Mastodon.py keeps only a JSON `error`;
        #: Takahē answers a bad token in plain text, "Invalid Bearer token").
        self.last_error_text = ""
        self.me: dict | None = None
        self.limits: Limits | None = None
        self.limits_at = 0.0
        #: What the instance told of media (read with the limits, from the same document).
        self.media_limits: MediaLimits | None = None


_local = threading.local()
#: idempotency key -> wall-clock start of this process's latest attempt to send it.
_attempts: dict[str, float] = {}
_attempts_lock = threading.Lock()


def _attempt_started(key: str) -> None:
    with _attempts_lock:
        if len(_attempts) > 10000:
            _attempts.clear()
        _attempts[key] = time.time()


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(0.0, (_when(reset) - datetime.now(UTC)).total_seconds())
        except ValueError:
            return None
    return None


class MastodonAdapter(Adapter):
    name = "mastodon"
    can_lookup = True
    can_listen = True
    #: Idempotency-Key is not trusted (see the module docstring): never resend blindly.
    dedupe_window = 0

    # --- the client -----------------------------------------------------------------------
    def _base_url(self) -> str:
        base = str(self.config.get("api_base_url") or self.config.get("base_url") or "").rstrip("/")
        if not base:
            raise NotSentError("This Mastodon channel has no api_base_url.")
        return base

    def client(self) -> _Client:
        """The reused client for this channel (per thread: sessions are not shared)."""
        from mastodon import Mastodon

        base = self._base_url()
        token = self.secret("token_env") or ""
        timeout = float(settings.PUBLISH_HTTP_TIMEOUT)
        key = (self.channel.pk, base, token, timeout)
        cache: dict = _local.__dict__.setdefault("clients", {})
        holder = cache.get(key)
        if holder is None:
            session = requests_session(f"mastodon:{self.channel.pk}:{base}")
            api = Mastodon(access_token=token or None, api_base_url=base, request_timeout=timeout,
                           ratelimit_method="throw", version_check_mode="none", user_agent="Parley",
                           session=session)
            holder = _Client(api, session)

            def remember(response: Any, *args: Any, _holder: Any = holder, **kwargs: Any) -> None:
                _holder.last_headers = dict(response.headers)
                _holder.last_error_text = "" if response.ok else response.text[:300]

            session.hooks["response"] = [h for h in session.hooks.get("response", [])
                                         if not getattr(h, "parley_mastodon", False)]
            remember.parley_mastodon = True  # type: ignore[attr-defined]
            session.hooks["response"].append(remember)
            cache[key] = holder
        return holder

    def _error(self, exc: Exception, client: _Client, *, sending: bool = False,
               credentials: bool = False) -> Exception:
        """A Mastodon.py exception as one of the contract's errors, by type and status. The
        token's refusal is AuthError (a person must fix it), however the server words it: 401
        (Mastodon), any 400/401/403 to verify_credentials (`credentials`: Takahē answers an
        unknown or revoked token with 400 "Invalid Bearer token"), or any answer whose body
        says the token is invalid."""
        import mastodon as m

        status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        if isinstance(exc, m.MastodonUnauthorizedError) or (
                isinstance(exc, m.MastodonAPIError) and status in (400, 401, 403)
                and (credentials or _says_token_invalid(f"{exc.args[3] if len(exc.args) > 3 else ''} "
                                                        f"{client.last_error_text}"))):
            return AuthError(f"Mastodon refused the access token ({status or 401}): check the channel's token.")
        if isinstance(exc, m.MastodonRatelimitError):
            return RateLimited("Mastodon rate limit (429)", retry_after=_retry_after(client.last_headers))
        if isinstance(exc, m.MastodonNetworkError):
            cause = next((e for e in _causes(exc) if isinstance(e, requests.RequestException)), None)
            return classify_requests_error(cause or exc)
        if isinstance(exc, m.MastodonAPIError):
            detail = exc.args[3] if len(exc.args) > 3 and exc.args[3] else (exc.args[2] if len(exc.args) > 2 else "")
            if status is not None and status >= 500:
                if sending and status != 503:
                    # A 500/502/504 may come after the status was stored (or from a proxy that
                    # gave up waiting): look before sending again.
                    return AmbiguousError(f"Mastodon answered {status} to the post: {detail}")
                return TransientError(f"Mastodon server error {status}: {detail}")
            return PermanentError(f"Mastodon refused it ({status}): {detail}")
        if isinstance(exc, m.MastodonError):
            return PermanentError(f"Mastodon: {exc}")
        return exc

    def _call(self, fn: Callable[[Any], Any], *, sending: bool = False, credentials: bool = False) -> Any:
        from mastodon import MastodonError

        client = self.client()
        try:
            return fn(client.api)
        except MastodonError as exc:
            raise self._error(exc, client, sending=sending, credentials=credentials) from exc

    def _me(self) -> dict:
        client = self.client()
        if client.me is None:
            client.me = dict(self._call(lambda api: api.account_verify_credentials(), credentials=True))
        return client.me

    # --- publishing -----------------------------------------------------------------------
    def text_for(self, msg: OutboundMessage) -> str:
        """The text as sent: a reply starts by mentioning the citizen, unless it already does."""
        body = msg.body.strip()
        handle = (msg.reply_to.author_handle if msg.reply_to else "").strip().lstrip("@")
        if handle:
            local = handle.split("@", 1)[0]
            if not re.search(rf"(?<![\w@])@{re.escape(local)}(?:@[\w.-]+)?(?![\w@])", body, re.I):
                body = f"@{handle} {body}"
        return body

    def visibility_for(self, msg: OutboundMessage) -> str:
        configured = str(self.config.get("visibility") or "public")
        if configured not in VISIBILITY_ORDER:
            raise NotSentError(f"This channel's visibility {configured!r} is not one of {', '.join(VISIBILITY_ORDER)}.")
        citizen = msg.reply_to.visibility if msg.reply_to else ""
        return narrowest(configured, msg.visibility, citizen)

    def send(self, msg: OutboundMessage) -> Result:
        text = self.text_for(msg)
        visibility = self.visibility_for(msg)
        reply_to = msg.reply_to.external_id if msg.reply_to and msg.reply_to.external_id else None
        # Media first, each processed before the status exists: a failure or a crash here leaves
        # at most unattached media on the server (which it deletes), never a status; uploading
        # them again on the next attempt is harmless. The lookup rule is unchanged.
        media_ids = self.upload_media(msg)
        _attempt_started(msg.idempotency_key)
        status = self._call(lambda api: api.status_post(
            text, in_reply_to_id=reply_to, visibility=visibility, language=msg.language or None,
            spoiler_text=msg.content_warning or None, idempotency_key=msg.idempotency_key,
            media_ids=media_ids or None,
        ), sending=True)
        result = Result(external_id=str(status["id"]), url=str(status.get("url") or status.get("uri") or ""))
        if reply_to and str(status.get("in_reply_to_id") or "") != str(reply_to):
            self._unthreaded(result, reply_to, str(status.get("in_reply_to_id") or ""))
        return result

    # --- media (issue 22) ------------------------------------------------------------------
    def upload_media(self, msg: OutboundMessage) -> list[str]:
        """Upload each medium of `msg` with its description (the alt text in the message's
        language) and focal point, and wait until the server has processed it. Returns the media
        ids in order. Nothing here creates a status, so an unclear outcome is only a medium the
        server may hold unattached: TransientError (retry), never AmbiguousError."""
        ids = []
        for item in msg.media:
            media_id, url = self._upload(item)
            if not url:
                self._await_processing(media_id)
            ids.append(media_id)
        return ids

    def _media_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret('token_env')}", "Accept": "application/json"}

    def _media_request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        client = self.client()
        try:
            return client.session.request(method, f"{self._base_url()}{path}", headers=self._media_headers(),
                                          timeout=float(settings.PUBLISH_HTTP_TIMEOUT), **kwargs)
        except requests.RequestException as exc:
            error = classify_requests_error(exc)
            if isinstance(error, AmbiguousError):  # no status can have been made: just not done
                raise TransientError(f"media: {error}") from exc
            raise error from exc

    def _media_refusal(self, response: requests.Response, item: MediaItem) -> Exception:
        """A refused media request as one of the contract's errors, by status."""
        detail = response.text[:300]
        status = response.status_code
        if status in (401, 403) or (status == 400 and _says_token_invalid(detail)):
            return AuthError(f"Mastodon refused the access token ({status}): check the channel's token.")
        if status == 429:
            return RateLimited("Mastodon rate limit (429) on a media upload", retry_after=_retry_after(dict(response.headers)))
        if status >= 500 or status == 408:
            return TransientError(f"Mastodon answered {status} to a media upload: {detail}")
        return MediaRefused("publish.media.refused", {"platform": "Mastodon", "position": item.position,
                                                      "content_type": item.content_type, "status": status},
                            f"Mastodon refused medium {item.position} ({item.content_type}): {status} {detail}")

    def _upload(self, item: MediaItem) -> tuple[str, str]:
        """`POST /api/v2/media` (v1 where a server has no v2) with the description and focus.
        Returns (id, url); url is empty while the server is still processing it (202)."""
        data = {"description": item.alt} if item.alt else {}
        if item.kind == "image":
            data["focus"] = f"{item.focus[0]:.2f},{item.focus[1]:.2f}"
        ext = item.content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
        content = item.read()
        response = None
        for path in MEDIA_PATHS:
            response = self._media_request("POST", path, data=data,
                                           files={"file": (f"{item.key}.{ext}", content, item.content_type)})
            if response.status_code != 404:
                break
        assert response is not None
        if response.status_code not in (200, 202):
            raise self._media_refusal(response, item)
        doc = response.json()
        return str(doc["id"]), str(doc.get("url") or "")

    def _await_processing(self, media_id: str) -> None:
        """Poll `GET /api/v1/media/:id` until the server has processed the medium (200 with its
        url; 206 while processing), at most MASTODON_MEDIA_PROCESSING_TIMEOUT: then
        TransientError (nothing was posted; the next attempt uploads again)."""
        deadline = time.monotonic() + float(settings.MASTODON_MEDIA_PROCESSING_TIMEOUT)
        interval = float(settings.MASTODON_MEDIA_POLL_INTERVAL)
        while True:
            response = self._media_request("GET", f"/api/v1/media/{media_id}")
            if response.status_code == 200 and (response.json() or {}).get("url"):
                return
            if response.status_code not in (200, 206):
                raise TransientError(f"Mastodon answered {response.status_code} about medium {media_id} "
                                     f"being processed: {response.text[:200]}")
            if time.monotonic() + interval > deadline:
                raise TransientError(
                    f"publish.media.processing: the server had not processed medium {media_id} after "
                    f"{settings.MASTODON_MEDIA_PROCESSING_TIMEOUT:.0f} s; nothing was posted")
            time.sleep(interval)

    def media_limits(self) -> MediaLimits:
        """What the instance says it takes (`configuration.statuses.max_media_attachments`,
        `configuration.media_attachments`: types, sizes, description limit), read with the
        limits; Mastodon's documented defaults for what it does not say."""
        self.limits()
        return self.client().media_limits or _media_limits_from({})

    def _unthreaded(self, result: Result, target: str, got: str) -> None:
        """The server published the reply outside its thread (Takahē: an unknown parent id is
        dropped and the status goes out top-level): delete it if the server lets us, and raise
        Unthreaded for a person to decide. Never answer a citizen out of their thread."""
        try:
            self.retract(result.external_id)
            retracted = True
        except Exception as exc:  # noqa: BLE001 - could not delete it: the person is told it is live
            log.warning("mastodon: could not delete unthreaded status %s: %s", result.external_id, exc)
            retracted = False
        where = f"in reply to {got}" if got else "as a top-level status"
        raise Unthreaded(
            f"the server published the reply {where}, not under status {target}; "
            + ("it was deleted" if retracted else f"it could not be deleted and is live: {result.url or result.external_id}"),
            external_id=result.external_id, url=result.url, retracted=retracted)

    def matches(self, status: Any, msg: OutboundMessage) -> bool:
        if status.get("reblog"):
            return False
        target = msg.reply_to.external_id if msg.reply_to and msg.reply_to.external_id else None
        if str(status.get("in_reply_to_id") or "") != str(target or ""):
            return False
        wanted = normalise(self.text_for(msg))
        return normalise(html_to_text(str(status.get("content") or ""))) == wanted or (
            bool(status.get("text")) and normalise(str(status["text"])) == wanted)

    def lookup(self, msg: OutboundMessage, since: datetime | None = None) -> Result | None:
        """Is `msg` on the server since `since` (when the attempts began)? A reply is looked for
        in its parent's thread (_in_thread); a followers-only or direct reply only there, a
        wider one (or a post) also among the account's own statuses (a long thread may be cut).

        Found is conclusive. "Not there" is conclusive only once no attempt can still be running
        on the server: Mastodon writes its idempotency record after creating the status, so a
        request still being processed would land after we looked. Within
        MASTODON_INFLIGHT_SECONDS of the latest attempt's start (this process's, else `since`)
        this raises TransientError ("ask again later"); after it, None. TransientError (or a
        subclass) also when the server could not be asked."""
        since = since or msg.created_at
        target = msg.reply_to.external_id if msg.reply_to and msg.reply_to.external_id else None
        if target:
            found = self._in_thread(msg, target)
            if found is not None:
                return found
            if self.visibility_for(msg) in ("private", "direct"):
                # Only the thread is sure to show them: servers need not list followers-only
                # or direct statuses among the account's own (Takahē never does).
                self._not_there(msg, since)
                return None
        floor = since - LOOKUP_CLOCK_SLACK
        me = self._me()
        max_id = None
        for _ in range(LOOKUP_MAX_PAGES):
            try:
                def statuses(api: Any, max_id: Any = max_id) -> Any:
                    return api.account_statuses(me["id"], max_id=max_id, limit=PAGE_LIMIT)

                page = self._call(statuses)
            except (PermanentError, AmbiguousError) as exc:
                raise TransientError(f"could not list the account's statuses: {exc}") from exc
            if not page:
                self._not_there(msg, since)
                return None
            for status in page:
                if self.matches(status, msg):
                    return Result(external_id=str(status["id"]), url=str(status.get("url") or status.get("uri") or ""))
            oldest = page[-1]
            if _when(oldest["created_at"]) < floor:
                self._not_there(msg, since)
                return None
            max_id = str(oldest["id"])
        raise TransientError(f"looked through {LOOKUP_MAX_PAGES} pages without reaching {since.isoformat()}")

    def _in_thread(self, msg: OutboundMessage, target: str) -> Result | None:
        """The reply among the descendants of the status it answers, authored by this account
        (`GET /api/v1/statuses/:id/context`): where a reply of any visibility, direct and
        followers-only included, is visible to its author. TransientError when the thread
        cannot be read (the parent gone or hidden: a person decides, never a resend on a guess)."""
        me = self._me()
        try:
            context = self._call(lambda api: api.status_context(target))
        except (PermanentError, AmbiguousError) as exc:
            raise TransientError(f"could not read the thread of status {target}: {exc}") from exc
        for status in context.get("descendants") or []:
            if str((status.get("account") or {}).get("id")) == str(me["id"]) and self.matches(status, msg):
                return Result(external_id=str(status["id"]), url=str(status.get("url") or status.get("uri") or ""))
        return None

    def _not_there(self, msg: OutboundMessage, since: datetime) -> None:
        """Raise TransientError while an attempt may still be running on the server."""
        with _attempts_lock:
            started = max(_attempts.get(msg.idempotency_key, 0.0), since.timestamp())
        wait = float(settings.MASTODON_INFLIGHT_SECONDS) - (time.time() - started)
        if wait > 0:
            raise TransientError(
                f"not on the server yet, but the attempt begun {time.time() - started:.1f} s ago may still be "
                f"running there: look again in {wait:.0f} s")

    def limits(self) -> Limits:
        """The instance's limits (`configuration.statuses`), asked of the server. Optional
        metadata never stops a send: a server that does not tell them (no instance document, an
        error, a document without them) gets Mastodon's documented defaults (500 characters,
        every URL as 23), marked `assumed`, kept only INSTANCE_FALLBACK_TTL and asked again."""
        client = self.client()
        if client.limits is not None and time.monotonic() - client.limits_at < (
                INSTANCE_FALLBACK_TTL if client.limits.assumed else INSTANCE_TTL):
            return client.limits
        info = self._instance(client) or {}
        config = info.get("configuration") or {}
        statuses = config.get("statuses") or {}
        max_chars = statuses.get("max_characters") or info.get("max_toot_chars")
        url_len = statuses.get("characters_reserved_per_url")
        try:
            told = int(max_chars) if max_chars else None
            url_told = int(url_len) if url_len else None
        except (TypeError, ValueError):
            told = url_told = None
        software = f"{info.get('version') or ''} {info.get('source_url') or ''}".casefold()
        code_points = any(name in software for name in CODE_POINT_SOFTWARE)
        if told and told > 0:
            limits = Limits(max_length=told, unit="chars", url_length=url_told or DEFAULT_URL_LENGTH,
                            counts_code_points=code_points)
        else:
            log.info("mastodon %s: the instance tells no limits: assuming %d characters, URLs as %d",
                     self._base_url(), DEFAULT_MAX_CHARACTERS, DEFAULT_URL_LENGTH)
            limits = Limits(max_length=DEFAULT_MAX_CHARACTERS, unit="chars", url_length=DEFAULT_URL_LENGTH,
                            assumed=True, counts_code_points=code_points)
        client.limits, client.limits_at = limits, time.monotonic()
        client.media_limits = _media_limits_from(config)
        return limits

    def _instance(self, client: _Client) -> dict | None:
        """The instance document, v2 then v1, asked through the channel's session on the paths
        *without* a trailing slash (Mastodon.py's instance_v2()/instance_v1() add one; Mastodon
        answers both, Takahē routes only these). None when the server gave no usable document
        (any HTTP answer but a JSON object); raises only when it could not be reached."""
        base = self._base_url()
        for path in INSTANCE_PATHS:
            try:
                response = client.session.get(f"{base}{path}", timeout=float(settings.PUBLISH_HTTP_TIMEOUT),
                                              headers={"Accept": "application/json"})
            except requests.RequestException as exc:
                raise classify_requests_error(exc) from exc
            if response.status_code != 200:
                log.info("mastodon %s: %s answered %s", base, path, response.status_code)
                continue
            try:
                doc = response.json()
            except ValueError:
                continue
            if isinstance(doc, dict):
                return doc
        return None

    @classmethod
    def text_length(cls, text: str, limits: Limits | None = None) -> int:
        """The one count of a Mastodon-API server (guideline, live counter, preflight): Mastodon's
        weighted_length and, when the server is known to count code points too (Takahē:
        `limits.counts_code_points`), the stricter of the two: never pass here and be refused
        for good there."""
        weighted = weighted_length(text, url_length=(limits.url_length if limits else None) or DEFAULT_URL_LENGTH)
        return max(weighted, len(text)) if limits is not None and limits.counts_code_points else weighted

    def length_of(self, msg: OutboundMessage, limits: Limits | None = None) -> int:
        """The status as the server counts it: its content warning counts too (Mastodon)."""
        return self.text_length(msg.content_warning + self.text_for(msg), limits or self.limits())

    def preflight(self, msgs: list[OutboundMessage]) -> None:
        """Before the first language goes out: the token works *now* (asked of the server at
        every preflight, never from what this process remembers: a token revoked since is
        caught here), the config is valid, and every text fits the instance's limit (URLs
        counted as the server counts them)."""
        self.verify()
        limits = self.checked_limits = self.limits()
        for msg in msgs:
            self.visibility_for(msg)
            self.parent_exists(msg)
            n = self.length_of(msg, limits)
            if n > limits.max_length:
                rule = ("this server counts every character, links in full" if limits.counts_code_points
                        else "as Mastodon counts them")
                raise PermanentError(
                    f"The {msg.language} text is {n} characters ({rule}); "
                    f"this server allows {limits.max_length}.")
        self.check_media(msgs)

    def parent_exists(self, msg: OutboundMessage) -> None:
        """A reply's parent is still there (`GET /api/v1/statuses/:id`); ParentGone when the
        server answers 404 (deleted, or no longer visible to this account): never answer it."""
        import mastodon as m

        target = msg.reply_to.external_id if msg.reply_to and msg.reply_to.external_id else None
        if not target:
            return
        client = self.client()
        try:
            client.api.status(target)
        except m.MastodonNotFoundError as exc:
            raise ParentGone(f"the status {target} this replies to is gone from the server") from exc
        except m.MastodonError as exc:
            raise self._error(exc, client) from exc

    def verify(self) -> Account:
        """Who the token posts as, asked of the server each time (verify_credentials)."""
        client = self.client()
        me = client.me = dict(self._call(lambda api: api.account_verify_credentials(), credentials=True))
        host = urlparse(self._base_url()).hostname or ""
        acct = str(me.get("acct") or me.get("username") or "")
        handle = f"@{acct}" if "@" in acct else f"@{acct}@{host}"
        return Account(handle=handle, display_name=str(me.get("display_name") or ""), url=str(me.get("url") or ""))

    def retract(self, external_id: str) -> None:
        import mastodon as m

        client = self.client()
        try:
            client.api.status_delete(external_id)
        except m.MastodonNotFoundError:
            return  # already gone
        except m.MastodonError as exc:
            raise self._error(exc, client) from exc

    # --- engagement -----------------------------------------------------------------------
    def engage(self, action: str, target: ThreadRef, idempotency_key: str = "") -> Result:
        """Favourite ("like") or boost a status. Both are idempotent on Mastodon: doing it again
        answers with the same state, so a retry after an unclear outcome is harmless."""
        if not target.external_id:
            raise PermanentError("Nothing to engage with: the message has no Mastodon status id.")
        if action == "like":
            status = self._call(lambda api: api.status_favourite(target.external_id))
            return Result(external_id=str(status["id"]), url=str(status.get("url") or ""))
        if action == "boost":
            status = self._call(lambda api: api.status_reblog(target.external_id))
            return Result(external_id=str(status["id"]), url=str(status.get("url") or ""))
        raise PermanentError(f"Unknown engagement {action!r}.")

    def engaged(self, action: str, target: ThreadRef) -> bool:
        """Has the account already done `action` on `target`? (The look before a retry.)"""
        status = self._call(lambda api: api.status(target.external_id))
        return bool(status.get("favourited") if action == "like" else status.get("reblogged"))

    # --- listening ------------------------------------------------------------------------
    def _item(self, status: Any, *, kind: str | None = None) -> InboundItem:
        me = self._me()
        account = status.get("account") or {}
        visibility = str(status.get("visibility") or "public")
        if kind is None:
            if visibility == "direct":
                kind = "direct"
            elif status.get("in_reply_to_account_id") and str(status["in_reply_to_account_id"]) == str(me["id"]):
                kind = "reply"
            else:
                kind = "mention"
        handle = str(account.get("acct") or account.get("username") or "")
        language = str(status.get("language") or "").split("-")[0].lower()
        return InboundItem(
            external_id=str(status["id"]), kind=kind, author=str(account.get("display_name") or handle),
            author_handle=handle, text=html_to_text(str(status.get("content") or "")),
            created_at=_when(status["created_at"]), language=language, visibility=visibility,
            url=str(status.get("url") or status.get("uri") or ""),
            thread=ThreadRef(external_id=str(status["id"]), uri=str(status.get("uri") or ""),
                             author_handle=handle, visibility=visibility),
            content_warning=html.unescape(str(status.get("spoiler_text") or "")).strip(),
        )

    def _pages(self, fetch: Callable[[Any, Any], Any], cursor: str) -> tuple[list, str]:
        """Read forward from `cursor` (min_id: the page right after it) until nothing is newer,
        at most LISTEN_MAX_PAGES; with no cursor, only the newest page (no backfill)."""
        rows: list = []
        newest = cursor
        for _ in range(LISTEN_MAX_PAGES if cursor else 1):
            def fetch_after(api: Any, after: str = newest) -> Any:
                return fetch(api, after or None)

            page = list(self._call(fetch_after))
            if not page:
                break
            rows.extend(page)
            top = max((str(r["id"]) for r in page), key=_id_key)
            if newest and _id_key(top) <= _id_key(newest):
                break
            newest = top
            if not cursor or len(page) < PAGE_LIMIT:
                break
        return rows, newest

    def fetch_mentions(self, cursor: str = "") -> Page:
        """Mentions of the account (direct ones included) since `cursor` (a notification id)."""
        rows, newest = self._pages(
            lambda api, after: api.notifications(types=["mention"], min_id=after, limit=PAGE_LIMIT), cursor)
        items = [self._item(n["status"]) for n in sorted(rows, key=lambda n: _id_key(str(n["id"])))
                 if n.get("status") and n.get("type") == "mention"]
        return Page(items=items, cursor=newest or cursor)

    def fetch_stream(self, query: str, cursor: str = "") -> Page:
        """Community posts: a hashtag timeline for `#tag`, else a status search."""
        query = query.strip()
        if query.startswith("#") and re.fullmatch(r"#\w+", query):
            tag = query[1:]
            fetch = lambda api, after: api.timeline_hashtag(tag, min_id=after, limit=PAGE_LIMIT)  # noqa: E731
        else:
            def fetch(api: Any, after: Any) -> Any:
                # exclude_unreviewed=False: otherwise Mastodon.py checks the server's version
                # through the instance document, and where that has no trailing-slash route
                # (Takahē) its check recurses without end.
                return api.search_v2(query, resolve=False, result_type="statuses", min_id=after,
                                     limit=PAGE_LIMIT, exclude_unreviewed=False)["statuses"]
        rows, newest = self._pages(fetch, cursor)
        me = self._me()
        items = [self._item(s, kind="community") for s in sorted(rows, key=lambda s: _id_key(str(s["id"])))
                 if str((s.get("account") or {}).get("id")) != str(me["id"]) and not s.get("reblog")]
        return Page(items=items, cursor=newest or cursor)


def _media_limits_from(config: dict) -> MediaLimits:
    """MediaLimits from an instance document's `configuration` (Mastodon's defaults for the
    rest). Takahē says `video_size_limit: 0` and lists image types only: no video there."""
    statuses = config.get("statuses") or {}
    media = config.get("media_attachments") or {}

    def number(value: Any, default: int) -> int:
        try:
            return int(value) if value is not None else default
        except (TypeError, ValueError):
            return default

    types = media.get("supported_mime_types")
    return MediaLimits(
        max_count=number(statuses.get("max_media_attachments"), DEFAULT_MAX_MEDIA),
        types=frozenset(str(t) for t in types) if isinstance(types, list) and types else frozenset(),
        image_bytes=number(media.get("image_size_limit"), DEFAULT_IMAGE_BYTES),
        video_bytes=number(media.get("video_size_limit"), DEFAULT_VIDEO_BYTES),
        alt_length=number(media.get("description_limit"), DEFAULT_DESCRIPTION_LIMIT),
        video_alone=True,
    )


TOKEN_INVALID_RE = re.compile(r"(invalid|revoked|expired|unknown)\W+(bearer\W+|access\W+)?token|token\W+(is\W+)?"
                              r"(invalid|revoked|expired)", re.I)


def _says_token_invalid(text: str) -> bool:
    """Does an error answer say the token is refused ("The access token is invalid", Takahē's
    "Invalid Bearer token")?"""
    return bool(TOKEN_INVALID_RE.search(text or ""))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    item: BaseException | None = exc
    while item is not None and id(item) not in seen:
        seen.add(id(item))
        yield item
        item = item.__cause__ or item.__context__
