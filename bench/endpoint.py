"""A local HTTP endpoint for the benchmarks: records when each request arrived and counts
arrivals per Idempotency-Key.

The server runs in its own process, as a platform does: in a thread of the bench process it
competed for the GIL with the submitting client (which renders the API response while the worker
publishes), and a request arriving then waited for the interpreter's switch interval (5 ms) at
each step of reading it. The child stamps each arrival with `time.perf_counter()` (on Linux the
system-wide CLOCK_MONOTONIC, the same clock the submitter reads) and sends (key, time) over a
pipe; a thread here collects them."""
from __future__ import annotations

import json
import multiprocessing
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
        self._reader, self._writer = multiprocessing.Pipe(duplex=False)
        self._send_lock: threading.Lock | None = None  # the child's, set after the fork
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.process = multiprocessing.get_context("fork").Process(target=self._serve, daemon=True)
        self.collector = threading.Thread(target=self._collect, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Endpoint:
        self.process.start()
        self.server.socket.close()  # the child serves; the parent only listens to the pipe
        self._writer.close()
        self.collector.start()
        return self

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=5)

    def _serve(self) -> None:
        self._reader.close()
        self._send_lock = threading.Lock()
        self.server.serve_forever()

    def _record(self, key: str, at: float) -> None:  # in the child
        assert self._send_lock is not None
        with self._send_lock:
            self._writer.send((key, at))

    def _collect(self) -> None:  # in the parent
        while True:
            try:
                key, at = self._reader.recv()
            except (EOFError, OSError):
                return
            with self.cond:
                self.counts[key] += 1
                self.arrivals.setdefault(key, at)
                self.cond.notify_all()

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
                endpoint._record(key, now)
                self._answer(200, {"id": f"ext-{key}", "url": f"{endpoint.url}/p/{key}"})

        return Handler
