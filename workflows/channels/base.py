"""The adapter interface: adapters receive plain data (OutboundMessage), never model rows.

`send(msg) -> Result` publishes one message, passing its deterministic `idempotency_key` to the
platform. It raises (by type, never by message text):
- NotSentError: nothing left this machine (bad config, DNS, connection refused): retry;
- RateLimited: the platform asked us to wait `retry_after` seconds: retry then;
- TransientError: not published (5xx): retry with backoff;
- AuthError: the credentials were refused: fail, a person fixes them;
- PermanentError: the platform refused it (4xx): do not retry;
- AmbiguousError: the request may have been processed (timeout or connection lost after the
  request was sent): the delivery core looks (`lookup`) before ever sending again.

`lookup(msg, since) -> Result | None` asks the platform whether `msg` exists (published at or
after `since`, the start of the unclear attempt). None only when the platform *answered* that it
is not there; raises TransientError when it could not be asked. Adapters that cannot ask set
`can_lookup = False` (an unclear outcome then waits for a person). Adapters whose platform
deduplicates on the key only for a while set `dedupe_window` (seconds): the core resends after a
negative lookup only while that window is still open at send time.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..outbound import (
    AdapterError,
    AmbiguousError,
    AuthError,
    ConfigError,
    NotSentError,
    ParentGone,
    PermanentError,
    RateLimited,
    TransientError,
    Unthreaded,
)
from .config import SECRET_PREFIX, Key, check_config, secret_name_ok

__all__ = [
    "SECRET_PREFIX", "Account", "Adapter", "ChannelData", "AdapterError", "AmbiguousError", "AuthError", "ConfigError",
    "InboundItem", "Limits", "MediaItem", "MediaLimits", "MediaRefused", "NotSentError", "OutboundMessage", "Page", "ParentGone", "PermanentError", "RateLimited",
    "Result", "ThreadRef", "TransientError", "Unthreaded", "count_graphemes", "measure", "secret_name_ok",
]


@dataclass(frozen=True)
class Result:
    external_id: str
    url: str = ""


# --- The shared contract between the delivery services and the platform adapters -------------
# Adapters receive plain data, never model rows (docs/architecture.md).


@dataclass(frozen=True)
class ThreadRef:
    """What a platform needs to answer in a thread or to engage with a post.

    Mastodon: `external_id` is the status id. Bluesky: `uri`/`cid` of the parent post and
    `root_uri`/`root_cid` of the thread's root (equal to the parent for a top-level post)."""

    external_id: str = ""
    uri: str = ""
    cid: str = ""
    root_uri: str = ""
    root_cid: str = ""
    author_handle: str = ""   # the citizen to mention, without a leading "@"
    visibility: str = ""      # public | unlisted | private | direct (Mastodon's words)


@dataclass(frozen=True)
class MediaItem:
    """One medium to send with a message (issue 22): plain data, never a model row.

    `read()` gives the file's bytes (already made safe when uploaded: workflows.media); `alt` and
    `captions` are in the message's language; `url` is a signed URL that expires (the webhook
    sends it instead of the bytes)."""

    #: Stable for the publication and position (replays are byte-identical).
    key: str
    kind: str                 # image | video
    content_type: str
    read: Callable[[], bytes] = field(compare=False, repr=False)
    alt: str = ""
    captions: str = ""
    #: Mastodon's focal point, -1..1 on each axis.
    focus: tuple[float, float] = (0.0, 0.0)
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    url: str = ""
    #: Bytes, as stored (preflight checks it against the platform's limit without reading it).
    size: int | None = None
    #: 1-based, as a person counts the media of a post (what refusals name).
    position: int = 1


@dataclass(frozen=True)
class OutboundMessage:
    """One thing to send: a publication's text in one language, for one channel."""

    idempotency_key: str
    body: str
    language: str
    #: Fixed for the publication (never the attempt's time): replays must be byte-identical.
    created_at: datetime
    reply_to: ThreadRef | None = None
    #: The visibility to use; never wider than the citizen's (`reply_to.visibility`).
    visibility: str = "public"
    #: Shown before the text (Mastodon's `spoiler_text`); platforms without one ignore it.
    content_warning: str = ""
    #: The media of this language, in order (issue 22).
    media: tuple[MediaItem, ...] = ()


@dataclass(frozen=True)
class InboundItem:
    """One thing heard on a platform, ready for the inbox."""

    external_id: str
    kind: str                 # mention | direct | reply | quote | community
    author: str               # display name or handle
    author_handle: str
    text: str
    created_at: datetime
    language: str = ""        # the platform's tag, "" when it gave none
    visibility: str = "public"
    url: str = ""
    thread: ThreadRef = field(default_factory=ThreadRef)
    #: The author's content warning (Mastodon's `spoiler_text`), "" when none.
    content_warning: str = ""


@dataclass(frozen=True)
class Page:
    """A page of listening results and the cursor to resume from."""

    items: list[InboundItem]
    cursor: str


@dataclass(frozen=True)
class Limits:
    """The platform's real limits for one post."""

    max_length: int
    unit: str = "chars"       # chars (code points) | graphemes
    url_length: int | None = None   # Mastodon counts every URL as 23
    #: True when the platform did not tell its limits and these are its documented defaults
    #: (never recorded as the channel's limit; asked again at the next preflight).
    assumed: bool = False
    #: The server also refuses a text longer than `max_length` in code points, whatever it
    #: advertises per URL (Takahē): the platform's count is then the stricter of the two.
    counts_code_points: bool = False


@dataclass(frozen=True)
class MediaLimits:
    """What a platform takes of one post's media (preflight checks every language's media
    against them before anything of the post is sent: `check_media`)."""

    max_count: int = 4
    #: Content types it takes; empty: any type Parley accepts at upload.
    types: frozenset[str] = frozenset()
    image_bytes: int | None = None
    #: None: no limit told; 0: no video at all (Takahē advertises `video_size_limit: 0`).
    video_bytes: int | None = None
    #: Characters of an alternative text (Mastodon: 1,500).
    alt_length: int | None = None
    #: A video goes alone, without other media (Mastodon, Bluesky's video embed).
    video_alone: bool = True
    #: Bytes of a WebVTT captions file sent beside a video (Bluesky: 20,000); None: not sent.
    captions_bytes: int | None = None


class MediaRefused(PermanentError):
    """A platform does not take a message's media as they are (found at preflight: nothing was
    sent). `code` is a catalogue code (publish.media.*) and `params` its data; the text keeps
    both in front of the English detail, so the post page can say it in the reader's language."""

    def __init__(self, code: str, params: dict[str, Any], detail: str) -> None:
        self.code, self.params = code, dict(params)
        super().__init__(f"{code} {json.dumps(self.params, sort_keys=True, ensure_ascii=False)}: {detail}")


def check_media(platform: str, msgs: list[OutboundMessage], limits: MediaLimits) -> None:
    """Raise MediaRefused for the first medium of `msgs` that `limits` refuse: too many, a type
    the platform does not take, too large, a video beside other media, an alternative text or
    captions too long. Reads no file (sizes and types travel with each MediaItem)."""
    for msg in msgs:
        media = msg.media
        base = {"platform": platform, "language": msg.language}
        if len(media) > limits.max_count:
            raise MediaRefused("publish.media.too_many", {**base, "count": len(media), "limit": limits.max_count},
                               f"{platform} takes at most {limits.max_count} media per post; the {msg.language} "
                               f"version has {len(media)}")
        for item in media:
            where = {**base, "position": item.position, "content_type": item.content_type}
            if (limits.types and item.content_type not in limits.types) or (item.kind == "video" and limits.video_bytes == 0):
                raise MediaRefused("publish.media.type", where,
                                   f"{platform} does not take {item.content_type} (medium {item.position} of the "
                                   f"{msg.language} version)")
            cap = limits.video_bytes if item.kind == "video" else limits.image_bytes
            if cap and item.size is not None and item.size > cap:
                raise MediaRefused("publish.media.too_large", {**where, "size": item.size, "limit": cap},
                                   f"medium {item.position} of the {msg.language} version is {item.size} bytes; "
                                   f"{platform} takes {cap}")
            if limits.alt_length is not None and len(item.alt) > limits.alt_length:
                raise MediaRefused("publish.media.alt_too_long", {**where, "length": len(item.alt),
                                                                  "limit": limits.alt_length},
                                   f"the {msg.language} alternative text of medium {item.position} is "
                                   f"{len(item.alt)} characters; {platform} takes {limits.alt_length}")
            if (item.kind == "video" and item.captions and limits.captions_bytes is not None
                    and len(item.captions.encode()) > limits.captions_bytes):
                raise MediaRefused("publish.media.captions_too_large",
                                   {**where, "size": len(item.captions.encode()), "limit": limits.captions_bytes},
                                   f"the {msg.language} captions of medium {item.position} are "
                                   f"{len(item.captions.encode())} bytes; {platform} takes {limits.captions_bytes}")
        if limits.video_alone and len(media) > 1 and any(m.kind == "video" for m in media):
            raise MediaRefused("publish.media.video_alone", {**base, "count": len(media)},
                               f"{platform} takes a video alone; the {msg.language} version has a video and "
                               f"{len(media) - 1} other media")


@dataclass(frozen=True)
class Account:
    """Who a channel posts as ("test connection")."""

    handle: str
    display_name: str = ""
    url: str = ""


class ChannelData(Protocol):
    """What an adapter reads of its channel (a Channel row satisfies it; so does any object
    with these attributes): the adapters never import the models."""

    pk: Any
    slug: str
    name: str
    handle: str
    adapter: str
    adapter_config: Any


class Adapter:
    name = "base"
    can_lookup = False
    #: Seconds the platform deduplicates on the idempotency key (0: it does not).
    dedupe_window = 0
    #: The platform's limits the last preflight checked against (the channel's char_limit is set
    #: from them: services/channels.channel_limits_record).
    checked_limits: Limits | None = None

    #: The adapter's own schema for adapter_config (channels/config.py), if it has one.
    config_schema: dict[str, Key] | None = None

    def __init__(self, channel: ChannelData) -> None:
        self.channel = channel
        self.config = dict(channel.adapter_config or {})

    # Every method below may raise the errors above. Planned contract (issue 10):
    #   send(msg: OutboundMessage) -> Result
    #   lookup(msg: OutboundMessage, since: datetime) -> Result | None
    #       None only when the platform answered that it is not there; raise TransientError
    #       when it could not be asked.
    #   limits() -> Limits; preflight(msgs: list[OutboundMessage]) -> None (raises)
    #   verify() -> Account                       ("test connection")
    #   fetch_mentions(cursor: str) -> Page       (listening: addressed to the account)
    #   fetch_stream(query: str, cursor: str) -> Page   (saved hashtag / search)
    #   engage(action: "like" | "boost", target: ThreadRef, idempotency_key: str) -> Result
    #   retract(external_id: str) -> None         (delete what was published)

    def send(self, msg: OutboundMessage) -> Result:  # pragma: no cover - interface
        raise NotImplementedError

    def lookup(self, msg: OutboundMessage, since: datetime) -> Result | None:
        raise NotImplementedError(f"{self.name} cannot look publications up")

    def limits(self) -> Limits | None:
        """The platform's real limits (asked of the platform); None when it has none to tell."""
        return None

    def media_limits(self) -> MediaLimits | None:
        """What the platform takes of a post's media (asked of it where it tells); None: it
        takes whatever Parley accepted at upload (the log adapter)."""
        return None

    def check_media(self, msgs: list[OutboundMessage]) -> None:
        """Preflight's media check: MediaRefused when the platform would refuse a message's media."""
        if not any(msg.media for msg in msgs):
            return
        limits = self.media_limits()
        if limits is not None:
            check_media(self.name.capitalize(), msgs, limits)

    def preflight(self, msgs: list[OutboundMessage]) -> None:
        """Check, before anything of a post is sent, that every message can go: config, secrets,
        the platform's limits. Raises the errors above (nothing is ever sent here). Adapters
        extend it (credentials, reachability) and call super()."""
        problems = check_config(self.name, self.config, schema=self.config_schema)
        if problems:
            raise ConfigError("; ".join(f"{k}: {v}" for k, v in problems.items()))
        limits = self.checked_limits = self.limits()
        if limits is not None:
            for msg in msgs:
                used = self.text_length(msg.body, limits)
                if used > limits.max_length:
                    raise PermanentError(
                        f"too long for {self.name}: {used} {limits.unit} in {msg.language}, "
                        f"the platform allows {limits.max_length}"
                    )
        self.check_media(msgs)

    @classmethod
    def text_length(cls, text: str, limits: Limits | None = None) -> int:
        """The platform's length of `text`: the one count of this platform, used by the length
        guideline, the live counter while drafting and the preflight. Code points here (URLs as
        `limits.url_length` when the platform counts them so); adapters override it."""
        return measure(text, limits) if limits is not None else len(text)

    def verify(self) -> Account:
        """Who this channel posts as ("test connection"): checks the credentials."""
        raise NotSentError(f"the {self.name} adapter cannot test its connection")

    def retract(self, external_id: str) -> None:
        """Delete what was published (the lane's `retract` policy)."""
        raise PermanentError(f"the {self.name} adapter cannot delete a publication")

    def secret(self, key: str = "secret_env") -> str:
        """The secret named by environment variable in adapter_config (never stored). Only names
        carrying SECRET_PREFIX are read, whatever was saved."""
        var = self.config.get(key)
        if not var:
            return ""
        if not secret_name_ok(var):
            raise ConfigError(
                f"{key} must name an environment variable starting with {SECRET_PREFIX} "
                f"(A-Z, 0-9, _); this channel's is refused"
            )
        value = os.environ.get(var, "")
        if not value:
            raise ConfigError(f"The environment variable {var} holding this channel's secret is not set.")
        return value


def measure(text: str, limits: Limits) -> int:
    """Length of `text` as the platform counts it (graphemes or code points; URLs as
    `url_length` when the platform counts them so)."""
    import re

    if limits.url_length is not None:
        text = re.sub(r"https?://\S+", "x" * limits.url_length, text)
    if limits.unit == "graphemes":
        return count_graphemes(text)
    return len(text)


def count_graphemes(text: str) -> int:
    """User-perceived characters, close to Unicode's extended grapheme clusters: combining
    marks, variation selectors, emoji modifiers and ZWJ sequences join the previous character;
    a pair of regional indicators is one flag. (An adapter may count more exactly.)"""
    import unicodedata

    count = 0
    joined = False
    regional = 0
    for ch in text:
        cp = ord(ch)
        if joined:
            joined = False
            continue
        if ch == "\u200d":
            joined = True
            continue
        if (unicodedata.category(ch) in ("Mn", "Me", "Mc") or 0xFE00 <= cp <= 0xFE0F
                or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F) and count:
            continue
        if 0x1F1E6 <= cp <= 0x1F1FF:
            regional += 1
            if regional % 2 == 0:
                continue
        else:
            regional = 0
        count += 1
    return count
