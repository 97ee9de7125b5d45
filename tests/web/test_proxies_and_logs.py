"""Issue 20 item 4: one client-address rule for every limiter, and no outside link in the logs.

A generator makes forwarded headers (rotating X-Forwarded-For, several hops, spoofed and garbage
values); whatever the client puts there, the address a limiter counts under is REMOTE_ADDR when
no proxy is trusted (NUM_PROXIES=0, the default), and the address the trusted proxy appended
when there is one. The anonymous API throttle and the outside-link limiter both hold against
rotation; a real outsider behind the same proxy as a flood is not locked out. Outside links are
redacted from runserver's request log (django.server) and from Django's request log; gunicorn's
access log is read in tests/production/test_gunicorn.py."""
from __future__ import annotations

import logging
import secrets
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache.backends.locmem import LocMemCache
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from config.client_ip import client_ip
from tests.workflows import factories as f
from workflows.services import outside_review as outside

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.integers(1, 2**128 - 1).map(lambda n: str(__import__("ipaddress").IPv6Address(n)))
junk = st.sampled_from(["unknown", "", "<script>", "1.2.3", "999.1.1.1", "::g", "127.0.0.1 ", "x" * 300,
                        "127.0.0.1, 10.0.0.1", "for=1.2.3.4"])
hop = st.one_of(ipv4, ipv6, junk)
#: What a client may send as X-Forwarded-For: any number of hops, any spelling, any spacing.
forwarded = st.lists(hop, min_size=1, max_size=6).flatmap(
    lambda hops: st.sampled_from([",", ", ", " ,  "]).map(lambda sep: sep.join(hops)))


def request(remote: str, xff: str | None):
    meta = {"REMOTE_ADDR": remote}
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return SimpleNamespace(META=meta)


@pytest.fixture
def proxies(settings):
    def set_(n: int) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": n}
        api_settings.reload()
    yield set_
    api_settings.reload()


@given(xff=forwarded, remote=ipv4)
@hsettings(max_examples=300, deadline=None, derandomize=True)
def test_with_no_trusted_proxy_the_header_never_counts(xff, remote):
    assert api_settings.NUM_PROXIES == 0  # the default (config/settings.py, NUM_PROXIES)
    assert client_ip(request(remote, xff)) == remote


def test_behind_one_proxy_the_proxys_own_entry_counts(proxies):
    proxies(1)

    @given(spoofed=forwarded, client=st.one_of(ipv4, ipv6), proxy=ipv4)
    @hsettings(max_examples=300, deadline=None, derandomize=True)
    def check(spoofed, client, proxy):
        # The client wrote `spoofed`; the proxy appended the address it saw.
        assert client_ip(request(proxy, f"{spoofed}, {client}")) == str(__import__("ipaddress").ip_address(client))
        # No header (a request that did not come through the proxy): the peer.
        assert client_ip(request(proxy, None)) == proxy

    check()


def test_behind_two_proxies_and_a_short_header(proxies):
    proxies(2)
    assert client_ip(request("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.1")) == "203.0.113.9"
    assert client_ip(request("10.0.0.2", "203.0.113.9")) == "10.0.0.2"  # fewer hops than proxies
    assert client_ip(request("10.0.0.2", "garbage, 10.0.0.1")) == "10.0.0.2"


@pytest.fixture
def fresh_throttle(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_escape_the_anonymous_throttle(settings, fresh_throttle):
    """On the code before issue 20, 130 requests with a new X-Forwarded-For each got no 429."""
    from rest_framework.throttling import AnonRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "10/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api_settings.reload()
    saved = AnonRateThrottle.THROTTLE_RATES
    AnonRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        sent = []

        @given(xff=forwarded)
        @hsettings(max_examples=40, deadline=None, derandomize=True)
        def send(xff):
            sent.append(APIClient().get("/api/v1/lanes/", HTTP_X_FORWARDED_FOR=xff).status_code)

        send()
        assert len(sent) >= 30 and sent.count(429) >= len(sent) - 10, sent
    finally:
        AnonRateThrottle.THROTTLE_RATES = saved
        api_settings.reload()


@pytest.fixture
def link_counters(monkeypatch, settings):
    from workflows.web import outside as web_outside

    monkeypatch.setattr(web_outside, "cache", LocMemCache(f"outside-{uuid.uuid4()}", {}))
    settings.OUTSIDE_LINK_RATE_PER_IP = 5
    settings.OUTSIDE_LINK_RATE_PER_LINK = 5


@pytest.mark.django_db
def test_the_outside_limiter_ignores_a_rotated_header_with_no_trusted_proxy(client, demo, link_counters):
    codes = [client.get("/o/" + secrets.token_urlsafe(32) + "/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
             for i in range(8)]
    assert codes[:5] == [403] * 5 and codes[5:] == [429] * 3, codes


@pytest.mark.django_db
def test_behind_the_proxy_a_flood_does_not_lock_a_real_outsider_out(client, demo, link_counters, proxies):
    """On the code before issue 20 the limiter keyed on REMOTE_ADDR, the proxy's: 62 junk
    requests locked a real outsider out (429)."""
    proxies(1)
    post = f.at_review(demo)
    _, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="legal@firm.example", languages=["en"])
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    flood = [client.get("/o/" + secrets.token_urlsafe(32) + "/", HTTP_X_FORWARDED_FOR=f"6.6.6.6, 203.0.113.{i % 3}",
                        **proxy).status_code for i in range(30)]
    assert flood[:15] == [403] * 15 and flood[15:] == [429] * 15, flood
    assert client.get(f"/o/{token}/", HTTP_X_FORWARDED_FOR="192.0.2.44", **proxy).status_code == 200
    # The flooder cannot escape by writing another address in front of the proxy's entry.
    assert client.get("/o/" + secrets.token_urlsafe(32) + "/", HTTP_X_FORWARDED_FOR="192.0.2.44, 203.0.113.1",
                      **proxy).status_code == 429


@pytest.fixture
def log_stream():
    """What the handlers Parley configures (config/settings.py LOGGING) write, read back: their
    streams are swapped for a buffer (their filters and formatter stay)."""
    import io

    buffer = io.StringIO()
    handlers = {h for name in ("", "django.server", "django.request", "django")
                for h in logging.getLogger(name).handlers if isinstance(h, logging.StreamHandler)}
    saved = {h: h.setStream(buffer) for h in handlers}
    assert handlers
    yield buffer
    for h, stream in saved.items():
        h.setStream(stream)


def test_runserver_request_log_redacts_outside_links(log_stream):
    """runserver logs each request line through the django.server logger (WSGIRequestHandler.
    log_message, with its socket as `request`): through the redacting handler now."""
    token = secrets.token_urlsafe(32)
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /o/{token}/?lang=fr HTTP/1.1", "403", "1234",
                                            extra={"request": object(), "server_time": "now"})
    text = log_stream.getvalue()
    assert "/o/[link]/" in text and token not in text, text


@pytest.mark.django_db
def test_django_request_log_redacts_outside_links(client, log_stream, link_counters):
    token = secrets.token_urlsafe(32)
    logging.getLogger("django.request").warning("Forbidden: %s", f"/o/{token}/", extra={"status_code": 403})
    client.get(f"/o/{token}/")  # 403: django.request logs "Forbidden: <path>"
    text = log_stream.getvalue()
    assert "Forbidden: /o/[link]/" in text and token not in text, text
