"""The one outbound door: SSRF guard at connect time, errors by type, session reuse.

Nothing here sends traffic beyond 127.0.0.0/8: refusals of other addresses are asserted to
happen before any socket connects (socket.socket.connect is made to fail the test)."""
from __future__ import annotations

import http.server
import socket
import threading
import time

import httpx
import pytest
import requests

from workflows import outbound
from workflows.channels.base import AmbiguousError, NotSentError


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class CountingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0

    def handle_error(self, request, client_address):
        pass  # a client that gave up on /slow closes its end: expected here

    def get_request(self):
        self.connections += 1
        return super().get_request()


@pytest.fixture
def server():
    srv = CountingServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def no_allow_list(settings):
    settings.OUTBOUND_ALLOW_HOSTS = []


@pytest.fixture
def no_connect(monkeypatch):
    """Fail the test if anything tries to open a TCP connection."""
    def refuse(self, address):
        raise AssertionError(f"a connection to {address} was opened")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def fake_dns(monkeypatch, mapping):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in mapping:
            family = socket.AF_INET6 if ":" in mapping[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (mapping[host], port))]
        return real(host, port, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_loopback_is_refused_without_the_allow_list_and_nothing_connects(server, no_allow_list):
    url = f"http://127.0.0.1:{server.server_port}/"
    with pytest.raises(outbound.OutboundRefused):
        outbound.new_requests_session().get(url, timeout=2)
    with pytest.raises(outbound.OutboundRefused), outbound.httpx_client(timeout=2) as client:
        client.get(url)
    assert server.connections == 0


@pytest.mark.parametrize("address", [
    "169.254.169.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
])
def test_private_link_local_multicast_and_reserved_are_refused_before_connecting(
    address, no_allow_list, no_connect, monkeypatch
):
    fake_dns(monkeypatch, {"target.test": address})
    with pytest.raises(outbound.OutboundRefused):
        outbound.new_requests_session().get("http://target.test/", timeout=2)
    with pytest.raises(outbound.OutboundRefused), outbound.httpx_client(timeout=2) as client:
        client.get("https://target.test/")
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("https://target.test/hook")


def test_the_check_is_made_at_connect_time_so_rebinding_does_not_help(server, no_allow_list, monkeypatch):
    """The name passed the save-time check while it pointed at a public address; at connect
    time it points at loopback, and the connection is refused."""
    fake_dns(monkeypatch, {"rebind.test": "93.184.215.14"})
    outbound.check_url("http://rebind.test/")  # public at save time: accepted
    fake_dns(monkeypatch, {"rebind.test": "127.0.0.1"})
    with pytest.raises(outbound.OutboundRefused):
        outbound.new_requests_session().get(f"http://rebind.test:{server.server_port}/", timeout=2)
    assert server.connections == 0


def test_an_allow_listed_host_is_reached_and_its_session_reused(server, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.0/8"]
    session = outbound.requests_session("channel:test-reuse")
    assert outbound.requests_session("channel:test-reuse") is session
    for _ in range(3):
        assert session.get(f"http://127.0.0.1:{server.server_port}/", timeout=2).text == "ok"
    assert server.connections == 1  # one kept-alive connection for three requests
    with outbound.httpx_client(timeout=2) as client:
        assert client.get(f"http://127.0.0.1:{server.server_port}/").text == "ok"


def test_allow_list_by_name(server, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["localhost"]
    assert outbound.new_requests_session().get(f"http://localhost:{server.server_port}/", timeout=2).ok


def test_environment_proxies_are_ignored(server, settings, monkeypatch):
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    monkeypatch.setenv("HTTP_PROXY", "http://203.0.113.1:3128")
    assert outbound.new_requests_session().get(f"http://127.0.0.1:{server.server_port}/", timeout=2).ok


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_errors_are_classified_by_type(server, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    closed = f"http://127.0.0.1:{_free_port()}/"
    with pytest.raises(requests.RequestException) as refused:
        outbound.new_requests_session().get(closed, timeout=2)
    assert isinstance(outbound.classify_requests_error(refused.value), NotSentError)
    with pytest.raises(requests.RequestException) as slow:
        outbound.new_requests_session().get(f"http://127.0.0.1:{server.server_port}/slow", timeout=0.3)
    assert type(outbound.classify_requests_error(slow.value)) is AmbiguousError

    with pytest.raises(httpx.HTTPError) as refused_x, outbound.httpx_client(timeout=2) as client:
        client.get(closed)
    assert isinstance(outbound.classify_httpx_error(refused_x.value), NotSentError)
    with pytest.raises(httpx.HTTPError) as slow_x, outbound.httpx_client(timeout=0.3) as client:
        client.get(f"http://127.0.0.1:{server.server_port}/slow")
    assert type(outbound.classify_httpx_error(slow_x.value)) is AmbiguousError


def test_unresolvable_names_are_not_sent(no_allow_list):
    with pytest.raises(NotSentError):
        outbound.check_url("https://no-such-host.invalid/")
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("file:///etc/passwd")
