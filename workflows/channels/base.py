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
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    external_id: str
    url: str = ""


class AdapterError(Exception):
    pass


class TransientError(AdapterError):
    """Not published; safe to retry later."""


class PermanentError(AdapterError):
    """Refused by the platform; retrying will not help."""


class AmbiguousError(AdapterError):
    """Possibly published: reconcile, never resend blindly."""


class Adapter:
    name = "base"
    can_lookup = False

    def __init__(self, channel):
        self.channel = channel
        self.config = dict(channel.adapter_config or {})

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
