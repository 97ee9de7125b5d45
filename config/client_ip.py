"""The client's address: one rule for every limiter (DRF's throttles, the outside-link limiter,
django-axes) — docs/production.md, "Behind a proxy".

`X-Forwarded-For` is whatever the client wants it to be, except for the entries the operator's
own proxies appended. `NUM_PROXIES` (REST_FRAMEWORK["NUM_PROXIES"], from the environment, default
0) says how many proxies stand in front of Parley: with 0 only `REMOTE_ADDR` counts and the header
is ignored; with n, the n-th address from the right of `X-Forwarded-For` is the client (the one
the outermost trusted proxy saw), as in DRF's SimpleRateThrottle.get_ident. A value that is not an
IP address (a spoofed header with fewer hops than proxies, garbage) falls back to `REMOTE_ADDR`."""
from __future__ import annotations

import ipaddress
from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def num_proxies() -> int:
    return int(api_settings.NUM_PROXIES or 0)


def client_ip(request: Any) -> str:
    """The address the limiters count under (see the module's docstring)."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR", "") or ""
    hops = num_proxies()
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if hops <= 0 or not forwarded:
        return remote or "unknown"
    addresses = [part.strip() for part in forwarded.split(",")]
    if len(addresses) < hops:  # fewer hops than proxies: the header did not come through them all
        return remote or "unknown"
    candidate = addresses[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote or "unknown"


class AnonThrottle(AnonRateThrottle):
    """DRF's anonymous throttle, keyed by client_ip."""

    def get_ident(self, request: Any) -> str:
        return client_ip(request)


class UserThrottle(UserRateThrottle):
    """DRF's per-user throttle; anonymous requests keyed by client_ip."""

    def get_ident(self, request: Any) -> str:
        return client_ip(request)
