"""Channel adapters: one module per platform behind one small interface (base.Adapter).

The registry lives here, above the adapters: `base.py` defines the interface and imports no
adapter, each adapter imports `base`, and this module maps a name to its class. The built-in
adapters are imported when first asked for, so importing the package never drags in a
platform SDK. docs/architecture.md: "Adding an adapter".
"""
from __future__ import annotations

from .base import (
    Adapter,
    AmbiguousError,
    AuthError,
    ChannelData,
    ConfigError,
    NotSentError,
    ParentGone,
    PermanentError,
    RateLimited,
    Result,
    TransientError,
    Unthreaded,
)
from .config import SCHEMAS, Key, check_config

__all__ = ["EXTRA_ADAPTERS", "Adapter", "AmbiguousError", "AuthError", "ConfigError", "NotSentError",
           "ParentGone", "PermanentError", "RateLimited", "Result", "TransientError", "Unthreaded", "adapter_class", "adapter_classes",
           "get_adapter", "schema_for", "validate_config"]

#: Adapters registered beside the built-in ones (tests, plugins): name -> class.
EXTRA_ADAPTERS: dict[str, type[Adapter]] = {}


def _builtin() -> dict[str, type[Adapter]]:
    from .bluesky import BlueskyAdapter
    from .log import LogAdapter
    from .mastodon import MastodonAdapter
    from .webhook import WebhookAdapter

    return {a.name: a for a in (LogAdapter, WebhookAdapter, MastodonAdapter, BlueskyAdapter)}


def adapter_classes() -> dict[str, type[Adapter]]:
    """Every adapter by name: the built-in ones, then the registered extras (which win)."""
    return {**_builtin(), **EXTRA_ADAPTERS}


def adapter_class(name: str) -> type[Adapter] | None:
    return EXTRA_ADAPTERS.get(name) or _builtin().get(name)


def get_adapter(channel: ChannelData) -> Adapter:
    cls = adapter_class(channel.adapter)
    if cls is None:
        raise ConfigError(f"Unknown adapter {channel.adapter!r}.")
    return cls(channel)


def schema_for(adapter: str) -> dict[str, Key] | None:
    """The adapter class's own `config_schema`, else the entry of SCHEMAS under its name."""
    cls = adapter_class(adapter)
    own = getattr(cls, "config_schema", None) if cls is not None else None
    return own if own is not None else SCHEMAS.get(adapter)


def validate_config(adapter: str, config: object, *, offline: bool = False) -> dict[str, str]:
    """{key: what is wrong} for `config` under the named adapter's schema; empty when valid
    (`offline`: URLs by their form only, see config.check_config)."""
    return check_config(adapter, config, schema=schema_for(adapter), offline=offline)
