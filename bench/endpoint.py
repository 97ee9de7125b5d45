"""A local HTTP endpoint for the benchmarks: records when each request arrived (perf_counter of
this process, the same clock the submitter reads) and counts arrivals per Idempotency-Key."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[str, float] = {}
        self.counts: Counter = Counter()
        self.cond = threading.Condition(self.lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Endpoint:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, key: str, timeout: float = 30.0) -> float | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.arrivals[key]

    def wait_count(self, n: int, timeout: float = 120.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.arrivals) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()
            self.counts.clear()

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY, as any production HTTP server sets it: http.server writes the headers and
            # the body in two sends, and on a reused (keep-alive) connection Nagle's algorithm
            # holds the body until the client's delayed ACK, ~40 ms per request.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _answer(self, status: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._answer(404, {"error": "not found"})

            def do_POST(self):
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                key = self.headers.get("Idempotency-Key", "")
                with endpoint.cond:
                    endpoint.counts[key] += 1
                    endpoint.arrivals.setdefault(key, now)
                    endpoint.cond.notify_all()
                self._answer(200, {"id": f"ext-{key}", "url": f"{endpoint.url}/p/{key}"})

        return Handler
