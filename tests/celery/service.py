"""A configurable platform on 127.0.0.1 for the publishing-core tests: it can ignore the
Idempotency-Key (a new status per request, like the Mastodon-API server observed), create the
status only after a delay (Mastodon's race: the record appears after the client gave up), answer
after the client's timeout, refuse credentials, rate-limit, return a hostile URL, and it can be
asked what it holds (lookup), who the account is (info) and to delete a status (retract)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Service:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: list[dict] = []        # what is live (or was, see `deleted`)
        self.deleted: list[str] = []
        self.requests: list[tuple[str, str]] = []   # (method, path) of every request
        self.dedupe = True          # honour Idempotency-Key
        self.answer_delay = 0.0     # sleep before answering POST /publish
        self.create_delay = 0.0     # the status appears this long after the request (race)
        self.status = 200           # answer to POST /publish
        self.headers: dict[str, str] = {}
        self.url_template = "{base}/@parley/{id}"
        self.info = {"account": {"handle": "parley@social.example", "display_name": "Parley"},
                     "limits": {"max_length": 500, "unit": "chars"}}
        self.info_status = 200
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def config(self, **extra) -> dict:
        return {"url": f"{self.base}/publish", "lookup_url": f"{self.base}/lookup",
                "retract_url": f"{self.base}/statuses", "info_url": f"{self.base}/info", **extra}

    def live(self, key: str | None = None) -> list[dict]:
        with self.lock:
            return [s for s in self.statuses if s["id"] not in self.deleted and (key is None or s["key"] == key)]

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(path))

    def _create(self, key: str, text: str) -> dict:
        with self.lock:
            if self.dedupe:
                for s in self.statuses:
                    if s["key"] == key:
                        return s
            sid = str(len(self.statuses) + 1)
            status = {"id": sid, "key": key, "text": text,
                      "url": self.url_template.format(base=self.base, id=sid)}
            self.statuses.append(status)
            return status

    def _handler(self):
        svc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, doc, headers: dict | None = None) -> None:
                body = json.dumps(doc).encode()
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_GET(self):
                url = urlparse(self.path)
                with svc.lock:
                    svc.requests.append(("GET", url.path))
                if url.path == "/info":
                    return self._answer(svc.info_status, svc.info if svc.info_status < 300 else {"error": "no"})
                key = (parse_qs(url.query).get("idempotency_key") or [""])[0]
                found = svc.live(key)
                if not found:
                    return self._answer(404, {"error": "not found"})
                return self._answer(200, {"id": found[0]["id"], "url": found[0]["url"]})

            def do_DELETE(self):
                path = urlparse(self.path).path
                with svc.lock:
                    svc.requests.append(("DELETE", path))
                    svc.deleted.append(path.rsplit("/", 1)[-1])
                self._answer(200, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = urlparse(self.path).path
                with svc.lock:
                    svc.requests.append(("POST", path))
                key = self.headers.get("Idempotency-Key", "")
                if svc.status >= 300:
                    return self._answer(svc.status, {"error": f"status {svc.status}"}, svc.headers)
                if svc.create_delay:
                    delay = svc.create_delay
                    threading.Timer(delay, svc._create, args=(key, body.get("text", ""))).start()
                    time.sleep(svc.answer_delay)
                    return self._answer(200, {"id": "?", "url": ""})
                status = svc._create(key, body.get("text", ""))
                if svc.answer_delay:
                    time.sleep(svc.answer_delay)
                self._answer(200, {"id": status["id"], "url": status["url"]})

        return Handler
