"""The adapter interface.

`send(publication) -> Result` publishes one Publication, passing its deterministic
`idempotency_key` to the platform. It raises:
- TransientError: nothing was published (could not connect, 5xx, 429): retry with backoff;
- PermanentError: the platform refused it (4xx): do not retry;
- AmbiguousError: the request may have been processed (timeout or connection lost after the
  request was sent): never resend blindly, reconcile with `lookup` first.

`lookup(idempotency_key) -> Result | None` asks the platform whether that publication exists;
adapters that cannot ask set `can_lookup = False` (the publication then waits for a person).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Result:
    external_id: str
    url: str = ""


# --- The shared contract between the delivery services and the platform adapters -------------
# Adapters receive plain data, never model rows (see docs/architecture notes in issue 12).


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


@dataclass(frozen=True)
class Account:
    """Who a channel posts as ("test connection")."""

    handle: str
    display_name: str = ""
    url: str = ""


class AdapterError(Exception):
    pass


class TransientError(AdapterError):
    """Not published; safe to retry later."""


class PermanentError(AdapterError):
    """Refused by the platform; retrying will not help."""


class AmbiguousError(AdapterError):
    """Possibly published: reconcile, never resend blindly."""


class NotSentError(TransientError):
    """Nothing left this machine (bad config, DNS failure, connection refused, TLS handshake
    refused before the request): always safe to retry, never `unknown`."""


class AuthError(PermanentError):
    """The platform refused the credentials: say so, do not retry until someone fixes them."""


class RateLimited(TransientError):
    """The platform asked us to slow down; `retry_after` seconds (None when it did not say)."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Adapter:
    name = "base"
    can_lookup = False

    def __init__(self, channel):
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

    def send(self, publication) -> Result:  # pragma: no cover - interface
        raise NotImplementedError

    def lookup(self, idempotency_key: str) -> Result | None:
        raise NotImplementedError(f"{self.name} cannot look publications up")

    def secret(self, key: str = "secret_env") -> str:
        """The secret named by environment variable in adapter_config (never stored)."""
        var = self.config.get(key)
        if not var:
            return ""
        value = os.environ.get(var, "")
        if not value:
            raise PermanentError(f"The environment variable {var} holding this channel's secret is not set.")
        return value


def get_adapter(channel) -> Adapter:
    from .bluesky import BlueskyAdapter
    from .log import LogAdapter
    from .mastodon import MastodonAdapter
    from .webhook import WebhookAdapter

    adapters = {a.name: a for a in (LogAdapter, WebhookAdapter, MastodonAdapter, BlueskyAdapter)}
    cls = adapters.get(channel.adapter)
    if cls is None:
        raise PermanentError(f"Unknown adapter {channel.adapter!r}.")
    return cls(channel)
