"""The cache fails open: Redis down never makes a request fail.

Parley's cache holds nothing that must survive (API throttling counters, the sign-in rate of
outside links, Bluesky sessions and resolved handles); PostgreSQL is the one source of truth.
So every cache operation that cannot reach Redis is logged and answered as a miss: `get` gives
the default, `add`/`set`/`delete`/`touch` report that nothing was stored, `incr` raises the
ValueError a missing key raises. DRF's throttles read and write through the cache, so they let
requests through while Redis is away (fair use, not a security control), and writes go on as
the README promises. Plain Django: a subclass of its RedisCache overriding public methods.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger("parley.cache")

T = TypeVar("T")

#: At most one warning per this many seconds (an outage would otherwise log every request).
LOG_EVERY = 10.0


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache, answering a miss (logged) when Redis cannot be reached."""

    _last_logged = 0.0

    def _open(self, operation: str, fn: Callable[[], T], fallback: Callable[[], T]) -> T:
        import redis

        try:
            return fn()
        except (redis.RedisError, OSError) as exc:
            now = time.monotonic()
            if now - FailOpenRedisCache._last_logged >= LOG_EVERY:
                FailOpenRedisCache._last_logged = now
                log.warning("cache unreachable, %s answered as a miss (failing open): %s", operation, exc)
            return fallback()

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._open("get", lambda: super(FailOpenRedisCache, self).get(key, default, version),
                          lambda: default)

    def get_many(self, keys: Any, version: int | None = None) -> dict:
        return self._open("get_many", lambda: super(FailOpenRedisCache, self).get_many(keys, version), dict)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._open("has_key", lambda: super(FailOpenRedisCache, self).has_key(key, version), lambda: False)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> bool:
        return self._open("add", lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version),
                          lambda: False)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._open("set", lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version), lambda: None)

    def set_many(self, data: dict, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list:
        return self._open("set_many", lambda: super(FailOpenRedisCache, self).set_many(data, timeout, version),
                          lambda: list(data))

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._open("touch", lambda: super(FailOpenRedisCache, self).touch(key, timeout, version),
                          lambda: False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._open("delete", lambda: super(FailOpenRedisCache, self).delete(key, version), lambda: False)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._open("delete_many", lambda: super(FailOpenRedisCache, self).delete_many(keys, version), lambda: None)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        def missing() -> int:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable)")

        return self._open("incr", lambda: super(FailOpenRedisCache, self).incr(key, delta, version), missing)

    def clear(self) -> None:
        self._open("clear", lambda: super(FailOpenRedisCache, self).clear(), lambda: None)
