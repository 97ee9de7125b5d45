"""Answers the reference stack does not give on demand (rate limits, server errors), from a real
HTTP server on 127.0.0.1 that answers createSession the way a real PDS does in those cases."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from workflows.channels import bluesky
from workflows.channels.base import AuthError, PermanentError, RateLimited, TransientError


@pytest.fixture
def pds_answering(monkeypatch):
    servers = []

    def start(status: int, body: dict, headers: dict | None = None):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                out = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(out)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv("PARLEY_SECRET_TEST_BSKY_ERR", "app-password")
        channel = SimpleNamespace(pk=f"err{len(servers)}-{time.time_ns()}", handle="gov.test", adapter="bluesky",
                                  adapter_config={"base_url": f"http://127.0.0.1:{server.server_address[1]}",
                                                  "password_env": "PARLEY_SECRET_TEST_BSKY_ERR"})
        bluesky.forget_sessions()
        return bluesky.BlueskyAdapter(channel)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    bluesky.forget_sessions()


def test_rate_limit_says_when_to_come_back(pds_answering):
    reset = int(time.time()) + 120
    adapter = pds_answering(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                            {"ratelimit-limit": "30", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)})
    with pytest.raises(RateLimited) as caught:
        adapter.verify()
    assert 100 < caught.value.retry_after <= 120


def test_server_error_is_transient_and_bad_request_permanent(pds_answering):
    with pytest.raises(TransientError):
        pds_answering(502, {"error": "UpstreamFailure"}).verify()
    with pytest.raises(TransientError):
        pds_answering(500, {"error": "InternalServerError"}).verify()
    with pytest.raises(PermanentError) as caught:
        pds_answering(400, {"error": "InvalidRequest", "message": "bad handle"}).verify()
    assert not isinstance(caught.value, AuthError | TransientError)
    with pytest.raises(AuthError):
        pds_answering(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}).verify()
