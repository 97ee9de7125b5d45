"""One door for every outbound HTTP request Parley makes (channel adapters, webhooks).

- **SSRF guard at connect time.** The host is resolved when the connection is opened and every
  address is checked *then*; the socket connects to the checked address, so a DNS answer that
  changes between a check and the connection (rebinding) cannot slip through. Loopback,
  private, link-local (169.254.169.254), shared, multicast, reserved and unspecified addresses
  are refused unless the host or address is in the operator's `OUTBOUND_ALLOW_HOSTS`.
- **Errors by type, not by message text**: `classify_requests_error` / `classify_httpx_error`
  say whether anything may have reached the server (`AmbiguousError`) or nothing left this
  machine (`NotSentError`).
- **Sessions are reused** per key (a channel), so one worker keeps its connections warm.
- **The error types** live here (AdapterError and its kinds; `workflows.channels` re-exports them).

TLS still verifies the certificate against the host *name*: only the TCP connection is made to
the checked address.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError

USER_AGENT = "Parley (+https://github.com/parley)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# --- The errors of every outbound call, by type (channels/base.py says what each one means for
# an adapter). Defined here, below the adapters, so the door and the config schemas raise and
# catch them without importing any adapter.

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


class ParentGone(PermanentError):
    """What a reply answers is gone from the platform (deleted by its author, or hidden): nothing
    was sent; a person decides (the publication is held)."""


class Unthreaded(PermanentError):
    """A reply went out but the platform did not thread it under the status it answers (Takahē
    publishes a reply to an id it does not know as a top-level status). The adapter tried to
    delete it (`retracted`); a person decides. `external_id` is the stray status."""

    def __init__(self, message: str, *, external_id: str, url: str = "", retracted: bool = False) -> None:
        super().__init__(message)
        self.external_id = external_id
        self.url = url
        self.retracted = retracted


class AuthError(PermanentError):
    """The platform refused the credentials: say so, do not retry until someone fixes them."""


class RateLimited(TransientError):
    """The platform asked us to slow down; `retry_after` seconds (None when it did not say)."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(NotSentError):
    """The channel's configuration is wrong (nothing was sent)."""


class OutboundRefused(NotSentError):
    """The destination is not a public address and is not on the operator's allow-list.
    Raised before any connection is opened."""


def _allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in getattr(settings, "OUTBOUND_ALLOW_HOSTS", ()) or ():
        entry = str(entry).strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, which a gateway or tunnel may deliver to:
    IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), 6to4 (2002:AABB:CCDD::/48),
    Teredo (2001::/32: its server and its client) and NAT64 (64:ff9b::/96, 64:ff9b:1::/48)."""
    out: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        out.append(low32)
    return out


def _public_one(ip: IPAddress) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address (what an SSRF guard lets through). An IPv6 address
    that embeds an IPv4 address is public only if that IPv4 address is too (2002:7f00:1:: is
    127.0.0.1 through a 6to4 relay), whatever the IPv6 tables say."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if ip.ipv4_mapped is not None:
            return _public_one(ip.ipv4_mapped)
        if embedded and not all(_public_one(v4) for v4 in embedded):
            return False
    return _public_one(ip)


def check_address(host: str, ip: IPAddress) -> None:
    """Refuse `ip` (an address `host` resolved to) unless it is public or allow-listed."""
    if is_public(ip):
        return
    names, networks = _allow_list()
    if host.lower().rstrip(".") in names or any(ip in net for net in networks):
        return
    raise OutboundRefused(
        f"refused to connect to {host} ({ip}): not a public address; an operator may allow it "
        f"with OUTBOUND_ALLOW_HOSTS"
    )


def resolve_checked(host: str, port: int) -> list[str]:
    """Resolve `host` and return its addresses, all checked; raises OutboundRefused (nothing
    opened) or NotSentError when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NotSentError(f"could not resolve {host}: {exc}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        check_address(host, ip)  # every answer must pass: no picking the safe one of many
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise NotSentError(f"{host} resolved to no address")
    return addresses


def check_url(url: str) -> None:
    """Validate a URL an operator or client gives us (webhook, adapter base URL) at save time:
    http(s) only, with a host that resolves to allowed addresses. The connect-time guard still
    applies on every request; this only gives an early, clear error."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise OutboundRefused(f"{url!r} is not an http(s) URL with a host")
    resolve_checked(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))


# --- requests (Mastodon.py, webhooks) ----------------------------------------------------------


class _GuardedConnectionMixin:
    host: str
    port: int
    _dns_host: str

    def _new_conn(self):  # type: ignore[no-untyped-def]
        # Resolve and check now, then connect to the checked address (not the name again).
        self._dns_host = resolve_checked(self.host, self.port)[0]
        return super()._new_conn()  # type: ignore[misc]


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        raise OutboundRefused("outbound requests do not go through proxies")


def new_requests_session() -> requests.Session:
    """A requests session whose every connection passes the guard (no environment proxies)."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


_local = threading.local()


def requests_session(key: str = "default") -> requests.Session:
    """The calling thread's reused session for `key` (e.g. "channel:12")."""
    sessions: dict[str, requests.Session] = _local.__dict__.setdefault("requests", {})
    if key not in sessions:
        sessions[key] = new_requests_session()
    return sessions[key]


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
        stack.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))


def classify_requests_error(exc: BaseException) -> Exception:
    """Map a requests/urllib3 failure to NotSentError (nothing reached the server) or
    AmbiguousError (the request may have been processed), by exception type."""
    for item in _chain(exc):
        if isinstance(item, NotSentError):
            return item
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.InvalidURL
                  | requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema):
        return NotSentError(f"could not connect: {exc.__class__.__name__}")
    if isinstance(exc, requests.ConnectionError) and any(
        isinstance(item, NewConnectionError | NameResolutionError | ConnectionRefusedError) for item in _chain(exc)
    ):
        return NotSentError(f"could not connect: {exc.__class__.__name__}")
    if isinstance(exc, requests.Timeout):
        return AmbiguousError(f"no answer in time: {exc.__class__.__name__}")
    return AmbiguousError(f"connection lost after sending: {exc.__class__.__name__}")


# --- httpx (the atproto SDK) --------------------------------------------------------------------


class GuardedBackend(httpcore.SyncBackend):
    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        address = resolve_checked(host, port)[0]
        return super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


def httpx_client(*, timeout: float | None = None, **kwargs: Any) -> httpx.Client:
    """An httpx client whose every connection passes the guard (TLS still checks the name)."""
    transport = httpx.HTTPTransport(retries=0)
    transport._pool._network_backend = GuardedBackend()  # noqa: SLF001 - httpcore's documented hook
    return httpx.Client(
        transport=transport, trust_env=False,
        timeout=timeout if timeout is not None else settings.PUBLISH_HTTP_TIMEOUT,
        headers={"User-Agent": USER_AGENT}, **kwargs,
    )


def classify_httpx_error(exc: BaseException) -> Exception:
    for item in _chain(exc):
        if isinstance(item, NotSentError):
            return item
    for item in _chain(exc):
        if isinstance(item, httpx.ConnectError | httpx.ConnectTimeout | httpx.UnsupportedProtocol
                      | httpcore.ConnectError | httpcore.ConnectTimeout | ConnectionRefusedError):
            return NotSentError(f"could not connect: {item.__class__.__name__}")
    for item in _chain(exc):
        if isinstance(item, httpx.TimeoutException | httpcore.TimeoutException):
            return AmbiguousError(f"no answer in time: {item.__class__.__name__}")
    return AmbiguousError(f"connection lost after sending: {exc.__class__.__name__}")


def url_refused(url: str) -> str:
    """Why the outbound door would refuse `url` (loopback, private, link-local... unless the
    operator allow-lists it), checked at save time for a clear error; "" when it is usable.
    A name that does not resolve now is accepted: the door checks again at every connection."""
    from django.utils.translation import gettext as _

    try:
        check_url(url)
    except OutboundRefused as exc:
        return _("This address is refused: %(reason)s") % {"reason": str(exc)}
    except NotSentError:
        return ""
    except Exception:  # noqa: BLE001 - httpx.InvalidURL and the like
        return _("Give an http(s) URL.")
    return ""


def link_url(url: object) -> str:
    """A platform's URL for what we published, kept only when it is http(s) (it becomes a
    link): `javascript:`, `data:` and anything else is stored empty."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    if len(url) > 500 or not url.lower().startswith(("https://", "http://")) or any(c in url for c in "\x00\r\n\t <>\"'`"):
        return ""
    return url
