"""A real HTTP server on 127.0.0.1 playing the social platform (webhook adapter) and an
integration receiving Parley's signed webhooks. It counts every raw request."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Platform:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every POST fully received: path, headers, body
        self.published: dict[str, dict] = {}  # idempotency key -> stored document (2xx only)
        self.scripts: dict[str, list[int]] = defaultdict(list)  # key -> statuses to answer first
        self.default_status = 200
        self.path_status: dict[str, int] = {}  # path -> status, over default_status
        self.delay = 0.0  # seconds between recording a request and answering it
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Platform:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.published.clear()
            self.scripts.clear()
            self.path_status.clear()
            self.default_status = 200
            self.delay = 0.0

    # --- what tests read
    def posts(self, path: str = "/publish") -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def counts_by_key(self, path: str = "/publish") -> Counter:
        return Counter(r["headers"].get("Idempotency-Key") for r in self.posts(path))

    def _handler(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY, as any production HTTP server sets it: http.server writes the headers and
            # the body in two sends, and on a reused (keep-alive) connection Nagle's algorithm
            # holds the body until the client's delayed ACK, ~40 ms per request.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # lookup by idempotency key
                query = parse_qs(urlparse(self.path).query)
                key = (query.get("idempotency_key") or [""])[0]
                with platform.lock:
                    doc = platform.published.get(key)
                if doc is None:
                    self._answer(404, {"error": "not found"})
                else:
                    self._answer(200, doc)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request: nothing was received
                path = urlparse(self.path).path
                headers = {k: v for k, v in self.headers.items()}
                key = headers.get("Idempotency-Key", "")
                with platform.lock:
                    platform.requests.append({"path": path, "headers": headers, "body": body})
                    script = platform.scripts.get(key)
                    status = script.pop(0) if script else platform.path_status.get(path, platform.default_status)
                    if 200 <= status < 300 and path == "/publish":
                        doc = platform.published.setdefault(
                            key, {"id": f"ext-{len(platform.published) + 1}", "url": f"{platform.url}/p/{key}"}
                        )
                    else:
                        doc = {"ok": 200 <= status < 300}
                if status >= 300:
                    doc = {"error": f"scripted {status}"}
                if platform.delay:
                    time.sleep(platform.delay)  # a sender killed now leaves an ambiguous outcome
                try:
                    self._answer(status, doc)
                except OSError:
                    pass  # the sender is gone

        return Handler


def valid_signature(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")
