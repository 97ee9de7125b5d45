"""A local Mastodon-API server for the tests: a real HTTP server on 127.0.0.1, in a thread.

It behaves like the servers Parley was run against (issue 10), not like a mock agreeing with the
client: statuses are stored and rendered to HTML as Mastodon renders them (mentions and links
become <a> tags), ids are increasing numeric strings, lists page with max_id / since_id / min_id
and Link headers, a direct status is visible only to its author and the accounts it mentions,
401 answers a bad token and 429 carries Retry-After / X-RateLimit-Reset.

Switchable behaviours seen on real servers:
- `idempotency = "ignore"`: the Idempotency-Key header is ignored entirely;
- `idempotency = "race"`: Mastodon's own check: the key's record is written only after the status
  is created, `work_time` seconds after the request arrived, so a retry during that time makes a
  second status;
- `answer_delay`: the status is created at once, the answer comes `answer_delay` seconds later
  (after the client's timeout);
- `rate_limited`: the next N requests answer 429.

Like Takahē (jointakahe/takahe, read at d45f22c), by default (`takahe = True`):
- every route exists only *without* a trailing slash (`/api/v2/instance/` answers 404);
- an account's statuses (`GET /api/v1/accounts/:id/statuses`) never list its followers-only or
  direct statuses, even to the account itself; the parent's context
  (`GET /api/v1/statuses/:id/context`) shows every descendant the viewer may see, its own included.
`takahe = False` is Mastodon's behaviour (both path forms; the owner sees all its statuses).
`software = "takahe"` adds Takahē's other answers (Mastodon's by default): an unknown or revoked
token gets 400 "Invalid Bearer token" in plain text (api/middleware.py); the instance says
`version` "takahe/0.11.0" (and v2 its `source_url`); a status longer than the limit in code points
is refused with 400 "Status is too long" whatever its URLs (api/views/statuses.py post_status);
a reply to an id it does not know is published as a top-level status (`Post.DoesNotExist: pass`).
`revoke(token)` makes a token invalid (401) from then on.
Tests count what went out by listing the account's statuses (`statuses_of`).

Media (issue 22), as Mastodon: `POST /api/v1/media` stores and processes at once (200 with its
url); `POST /api/v2/media` answers 202 with `url: null` while the medium is processed for
`media_processing` seconds (200 with the url when that is 0), and `GET /api/v1/media/:id`
answers 206 until it is done; a status's `media_ids[]` must be the poster's own, processed
(422 "Cannot attach files that have not finished processing"), not attached to another status,
at most four, a video alone; `media_attachments` carry the description and `meta.focus`. The
instance tells `configuration.media_attachments` (`media_types`, `image_size_limit`,
`video_size_limit`), and an upload of another type or a larger file answers 422. Uploaded media
never attached are `orphans_of(username)`.
"""
from __future__ import annotations

import html
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

DOMAIN = "social.test"
MENTION_RE = re.compile(r"(?<![\w/@])@([A-Za-z0-9_]+)(?:@([A-Za-z0-9.-]+\.[A-Za-z]{2,}))?")
URL_RE = re.compile(r"https?://[^\s<>\"]+")
TAG_RE = re.compile(r"(?<![\w/&])#(\w+)")
VISIBILITIES = ("public", "unlisted", "private", "direct")


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many pollers at once (the bench) must not be refused

    def handle_error(self, request, client_address):
        """A client killed mid-request (the chaos tests SIGKILL the worker) is expected: quiet."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class MastodonServer:
    def __init__(self, *, max_characters: int = 500, url_reserved: int = 23):
        self.lock = threading.RLock()
        self.max_characters = max_characters
        self.url_reserved = url_reserved
        self.accounts: dict[str, dict] = {}      # id -> account
        self.tokens: dict[str, str] = {}         # token -> account id
        self.statuses: dict[str, dict] = {}      # id -> stored status
        self.notifications: list[dict] = []
        self.favourites: set[tuple[str, str]] = set()
        self.reblogs: dict[tuple[str, str], str] = {}
        self.idempotency_records: dict[tuple[str, str], str] = {}
        self.requests: list[dict] = []
        self.media: dict[str, dict] = {}         # id -> stored medium
        self._id = 110_000_000_000_000_000
        self.idempotency = "honour"   # honour | ignore | race
        self.work_time = 0.0
        self.answer_delay = 0.0
        self.rate_limited = 0
        self.retry_after = 7
        self.drop_posts = 0       # the next N posts are read, then the connection is closed unanswered
        self.read_delay = 0.0     # seconds before answering a GET
        self.takahe = True        # Takahē's routes and account-statuses listing (module docstring)
        self.instance_available = True   # False: no instance document at all (404)
        self.software = "mastodon"       # "takahe": Takahē's answers (module docstring)
        self._media_defaults()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _media_defaults(self) -> None:
        self.media_processing = 0.0      # seconds a v2 upload is processed (202, then 206 until done)
        self.media_types = ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"]
        self.image_size_limit = 16 * 1024 * 1024
        self.video_size_limit = 99 * 1024 * 1024

    # --- control --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MastodonServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self.tokens.clear()
            self.statuses.clear()
            self.notifications.clear()
            self.favourites.clear()
            self.reblogs.clear()
            self.idempotency_records.clear()
            self.requests.clear()
            self.media.clear()
            self._media_defaults()
            self.idempotency = "honour"
            self.work_time = 0.0
            self.answer_delay = 0.0
            self.rate_limited = 0
            self.drop_posts = 0
            self.read_delay = 0.0
            self.takahe = True
            self.instance_available = True
            self.software = "mastodon"
            self.max_characters = 500

    def _next_id(self) -> str:
        with self.lock:
            self._id += 1000 + (self._id % 7)
            return str(self._id)

    def add_account(self, username: str, token: str, display_name: str = "") -> dict:
        with self.lock:
            acc = {
                "id": self._next_id(), "username": username, "acct": username,
                "display_name": display_name or username, "locked": False, "bot": False,
                "url": f"https://{DOMAIN}/@{username}", "uri": f"https://{DOMAIN}/users/{username}",
                "created_at": _iso(datetime.now(UTC)), "note": "", "avatar": "", "avatar_static": "",
                "header": "", "header_static": "", "followers_count": 0, "following_count": 0,
                "statuses_count": 0, "emojis": [], "fields": [],
            }
            self.accounts[acc["id"]] = acc
            self.tokens[token] = acc["id"]
            return acc

    def revoke(self, token: str) -> None:
        """The token is revoked on the server: every request with it answers 401 from now on."""
        with self.lock:
            self.tokens.pop(token, None)

    def delete_status(self, status_id: str) -> None:
        """Its author deleted it (as through their own client)."""
        with self.lock:
            self.statuses[str(status_id)]["deleted"] = True

    def orphans_of(self, username: str) -> list[dict]:
        """Media the account uploaded and never attached to a status."""
        acc = self.account_by_name(username)
        with self.lock:
            return [m for m in self.media.values() if acc and m["account_id"] == acc["id"] and not m["status_id"]]

    def account_by_name(self, username: str) -> dict | None:
        return next((a for a in self.accounts.values() if a["username"].lower() == username.lower()), None)

    def statuses_of(self, username: str) -> list[dict]:
        """Every status the account has on the server (what tests count), oldest first."""
        acc = self.account_by_name(username)
        with self.lock:
            return sorted((s for s in self.statuses.values() if acc and s["account_id"] == acc["id"]
                           and not s.get("deleted")), key=lambda s: int(s["id"]))

    def post_as(self, username: str, text: str, *, visibility: str = "public", in_reply_to_id: str | None = None,
                language: str | None = "en", spoiler_text: str = "") -> dict:
        """A citizen writes on the server (as through its own client)."""
        acc = self.account_by_name(username)
        assert acc is not None, username
        return self._create_status(acc, {"status": text, "visibility": visibility, "spoiler_text": spoiler_text,
                                         "in_reply_to_id": in_reply_to_id, "language": language})

    # --- the model ------------------------------------------------------------------------
    def _render(self, text: str) -> tuple[str, list[dict], list[dict]]:
        mentions, tags = [], []
        out = []
        pos = 0
        pattern = re.compile(f"{MENTION_RE.pattern}|{URL_RE.pattern}|{TAG_RE.pattern}")
        for m in pattern.finditer(text):
            out.append(html.escape(text[pos:m.start()]))
            token = m.group(0)
            if token.startswith("@"):
                user, domain = m.group(1), m.group(2)
                acc = self.account_by_name(user) if domain in (None, DOMAIN) else None
                if acc is not None:
                    mentions.append({"id": acc["id"], "username": acc["username"], "acct": acc["acct"], "url": acc["url"]})
                    out.append(f'<span class="h-card"><a href="{acc["url"]}" class="u-url mention">@<span>'
                               f'{html.escape(acc["username"])}</span></a></span>')
                else:
                    out.append(html.escape(token))
            elif token.startswith("http"):
                scheme, rest = token.split("://", 1)
                shown, hidden = rest[:30], rest[30:]
                out.append(f'<a href="{html.escape(token)}" target="_blank" rel="nofollow noopener noreferrer">'
                           f'<span class="invisible">{scheme}://</span><span class="ellipsis">{html.escape(shown)}</span>'
                           f'<span class="invisible">{html.escape(hidden)}</span></a>')
            else:
                name = token[1:]
                tags.append({"name": name.lower(), "url": f"https://{DOMAIN}/tags/{name.lower()}"})
                out.append(f'<a href="https://{DOMAIN}/tags/{name.lower()}" class="mention hashtag" rel="tag">#<span>'
                           f'{html.escape(name)}</span></a>')
            pos = m.end()
        out.append(html.escape(text[pos:]))
        paragraphs = "".join(out).split("\n\n")
        return "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs), mentions, tags

    def _length(self, text: str) -> int:
        counted = URL_RE.sub("x" * self.url_reserved, text)
        counted = MENTION_RE.sub(lambda m: "@" + m.group(1), counted)
        return len(counted)

    def _create_status(self, acc: dict, params: dict) -> dict:
        text = str(params.get("status") or "")
        visibility = params.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            raise ApiError(422, "Validation failed: Visibility is not included in the list")
        if not text.strip() and not (params.get("media_ids[]") or params.get("media_ids")):
            raise ApiError(422, "Validation failed: Text can't be blank")
        if self.software == "takahe" and len(text) > self.max_characters:
            raise ApiError(400, "Status is too long")  # code points, URLs and all
        if self._length(text) > self.max_characters:
            raise ApiError(422, f"Validation failed: Text character limit of {self.max_characters} exceeded")
        reply_to = params.get("in_reply_to_id") or None
        media_ids = [str(m) for m in (params.get("media_ids[]") or params.get("media_ids") or [])]
        with self.lock:
            attached = self._attachable(acc, media_ids)
            if reply_to and self.software == "takahe" and str(reply_to) not in self.statuses:
                reply_to = None  # Takahē: an unknown parent is dropped, the status goes out top-level
            parent = self.statuses.get(str(reply_to)) if reply_to else None
            if reply_to and (parent is None or not self._visible(parent, acc["id"])):
                raise ApiError(404, "Record not found")
            content, mentions, tags = self._render(text)
            sid = self._next_id()
            status = {
                "id": sid, "account_id": acc["id"], "text": text, "content": content, "mentions": mentions,
                "tags": tags, "visibility": visibility, "language": params.get("language") or None,
                "spoiler_text": str(params.get("spoiler_text") or ""),
                "in_reply_to_id": parent["id"] if parent else None,
                "in_reply_to_account_id": parent["account_id"] if parent else None,
                "created_at": datetime.now(UTC), "reblog_of": None, "media_ids": media_ids,
            }
            self.statuses[sid] = status
            for medium in attached:
                medium["status_id"] = sid
            acc["statuses_count"] += 1
            for m in mentions:
                if m["id"] != acc["id"]:
                    self.notifications.append({"id": self._next_id(), "type": "mention", "recipient": m["id"],
                                               "from": acc["id"], "status_id": sid, "created_at": status["created_at"]})
            return status

    def _attachable(self, acc: dict, media_ids: list[str]) -> list[dict]:
        """Mastodon's checks of a status's media (PostStatusService#validate_media!)."""
        if len(media_ids) > 4:
            raise ApiError(422, "Validation failed: Media attachments: too many")
        found = [self.media.get(mid) for mid in media_ids]
        if any(m is None or m["account_id"] != acc["id"] or m["status_id"] for m in found):
            raise ApiError(422, "Validation failed: Media not found")
        media = [m for m in found if m is not None]
        if any(not self._processed(m) for m in media):
            raise ApiError(422, "Cannot attach files that have not finished processing. Try again in a moment!")
        if len(media) > 1 and any(m["type"] == "video" for m in media):
            raise ApiError(422, "You can't attach a video to a status that already contains images")
        return media

    @staticmethod
    def _processed(medium: dict) -> bool:
        return time.monotonic() >= medium["ready_at"]

    def _create_medium(self, acc: dict, params: dict, version: int) -> tuple[int, dict]:
        upload = params.get("file")
        if not isinstance(upload, dict) or not upload.get("data"):
            raise ApiError(422, "Validation failed: File can't be blank")
        mime = upload["content_type"]
        if mime not in self.media_types:
            raise ApiError(422, "Validation failed: File content type is invalid")
        kind = "video" if mime.startswith("video/") else "image"
        if len(upload["data"]) > (self.video_size_limit if kind == "video" else self.image_size_limit):
            raise ApiError(422, "Validation failed: File file size must be less than the limit")
        focus = str(params.get("focus") or "0,0").split(",")
        width = height = None
        if kind == "image":
            import io

            from PIL import Image

            try:
                width, height = Image.open(io.BytesIO(upload["data"])).size
            except Exception as exc:  # noqa: BLE001 - not an image
                raise ApiError(422, "Validation failed: File could not be processed") from exc
        processing = self.media_processing if version == 2 else 0.0
        with self.lock:
            mid = self._next_id()
            medium = {"id": mid, "account_id": acc["id"], "type": kind, "mime": mime, "size": len(upload["data"]),
                      "data": upload["data"], "description": params.get("description") or None,
                      "focus": {"x": float(focus[0]), "y": float(focus[1] if len(focus) > 1 else 0)},
                      "width": width, "height": height, "status_id": None,
                      "ready_at": time.monotonic() + processing}
            self.media[mid] = medium
        return (202 if processing else 200), self._medium_json(medium)

    def _medium_json(self, medium: dict) -> dict:
        ready = self._processed(medium)
        url = f"{self.url}/system/media/{medium['id']}" if ready else None
        meta: dict = {"focus": medium["focus"]}
        if medium["width"]:
            meta["original"] = {"width": medium["width"], "height": medium["height"],
                                "size": f"{medium['width']}x{medium['height']}",
                                "aspect": medium["width"] / medium["height"]}
        return {"id": medium["id"], "type": medium["type"], "url": url, "preview_url": url, "remote_url": None,
                "meta": meta, "description": medium["description"], "blurhash": None}

    def _visible(self, status: dict, viewer: str | None) -> bool:
        if status.get("deleted"):
            return False
        if status["visibility"] in ("public", "unlisted"):
            return True
        if viewer == status["account_id"]:
            return True
        # Followers-only and direct: also the accounts it mentions (Mastodon's StatusPolicy).
        return any(m["id"] == viewer for m in status["mentions"])

    def _status_json(self, status: dict, viewer: str | None) -> dict:
        acc = self.accounts[status["account_id"]]
        reblog = None
        if status.get("reblog_of"):
            reblog = self._status_json(self.statuses[status["reblog_of"]], viewer)
        return {
            "id": status["id"], "uri": f"{acc['uri']}/statuses/{status['id']}",
            "url": f"{acc['url']}/{status['id']}", "created_at": _iso(status["created_at"]),
            "account": acc, "content": "" if reblog else status["content"], "visibility": status["visibility"],
            "sensitive": bool(status.get("spoiler_text")), "spoiler_text": status.get("spoiler_text") or "",
            "language": status["language"],
            "in_reply_to_id": status["in_reply_to_id"], "in_reply_to_account_id": status["in_reply_to_account_id"],
            "mentions": status["mentions"], "tags": status["tags"], "emojis": [],
            "media_attachments": [self._medium_json(self.media[m]) for m in status.get("media_ids") or []],
            "replies_count": sum(1 for s in self.statuses.values() if s["in_reply_to_id"] == status["id"]),
            "reblogs_count": sum(1 for (_, sid) in self.reblogs if sid == status["id"]),
            "favourites_count": sum(1 for (_, sid) in self.favourites if sid == status["id"]),
            "favourited": (viewer, status["id"]) in self.favourites,
            "reblogged": (viewer, status["id"]) in self.reblogs,
            "reblog": reblog, "card": None, "poll": None, "application": None, "edited_at": None,
        }

    # --- HTTP -----------------------------------------------------------------------------
    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _params(self) -> dict:
                parsed = urlparse(self.path)
                params = {k: (v if k.endswith("[]") else v[-1]) for k, v in parse_qs(parsed.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw:
                    if "multipart/form-data" in (self.headers.get("Content-Type") or ""):
                        params.update(_multipart(self.headers.get("Content-Type"), raw))
                    elif "json" in (self.headers.get("Content-Type") or ""):
                        params.update(json.loads(raw))
                    else:
                        for k, v in parse_qs(raw.decode(), keep_blank_values=True).items():
                            params[k] = v if k.endswith("[]") else v[-1]
                return params

            def _send(self, status: int, doc, headers: dict | None = None, *, text: bool = False) -> None:
                out = str(doc).encode() if text else json.dumps(doc).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html; charset=utf-8" if text
                                     else "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(out)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the late-answer behaviour)

            def _serve(self):
                path = urlparse(self.path).path
                if path.endswith("/") and server.takahe:
                    return self._send(404, {"error": "Endpoint not found"})  # Takahē's routes
                path = path.rstrip("/")
                params = self._params()
                with server.lock:
                    logged = {k: ({**v, "data": f"<{len(v.get('data') or b'')} bytes>"} if isinstance(v, dict) else v)
                              for k, v in params.items()}
                    server.requests.append({"method": self.command, "path": path, "headers": dict(self.headers),
                                            "params": logged, "at": time.monotonic()})
                    limited = server.rate_limited > 0 and not path.startswith("/api/v1/instance") \
                        and not path.startswith("/api/v2/instance")
                    if limited:
                        server.rate_limited -= 1
                if limited:
                    reset = datetime.now(UTC) + timedelta(seconds=server.retry_after)
                    return self._send(429, {"error": "Too many requests"}, {
                        "Retry-After": str(server.retry_after), "X-RateLimit-Limit": "300",
                        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": _iso(reset),
                    })
                viewer = None
                auth = self.headers.get("Authorization") or ""
                if auth.startswith("Bearer "):
                    viewer = server.tokens.get(auth[7:])
                    if viewer is None and server.software == "takahe":
                        return self._send(400, "Invalid Bearer token", text=True)
                    if viewer is None:
                        return self._send(401, {"error": "The access token is invalid"})
                if self.command == "GET" and server.read_delay:
                    time.sleep(server.read_delay)
                try:
                    status, doc, headers = server.route(self.command, path, params, viewer, self.headers)
                except Dropped:
                    self.close_connection = True  # crashed before creating anything: no answer
                    return None
                except ApiError as exc:
                    return self._send(exc.status, {"error": exc.message})
                self._send(status, doc, headers)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        return Handler

    def _page(self, items: list[dict], params: dict, path: str, key=lambda x: x["id"]) -> tuple[list[dict], dict]:
        """Mastodon's paging: newest first; max_id (older than), since_id (newer than, newest
        page), min_id (newer than, the page right after it)."""
        limit = max(1, min(int(params.get("limit") or 20), 40))
        items = sorted(items, key=lambda x: int(key(x)), reverse=True)
        if params.get("max_id"):
            items = [i for i in items if int(key(i)) < int(params["max_id"])]
        if params.get("since_id"):
            items = [i for i in items if int(key(i)) > int(params["since_id"])]
        if params.get("min_id"):
            items = [i for i in items if int(key(i)) > int(params["min_id"])]
            items = sorted(items, key=lambda x: int(key(x)))[:limit][::-1]
        else:
            items = items[:limit]
        headers = {}
        if items:
            base = f"{self.url}{path}"
            keep = {k: v for k, v in params.items() if k not in ("max_id", "min_id", "since_id") and not k.endswith("[]")}
            nxt = urlencode({**keep, "max_id": key(items[-1])})
            prev = urlencode({**keep, "min_id": key(items[0])})
            headers["Link"] = f'<{base}?{nxt}>; rel="next", <{base}?{prev}>; rel="prev"'
        return items, headers

    def route(self, method: str, path: str, params: dict, viewer: str | None, headers) -> tuple[int, object, dict]:
        if path in ("/api/v1/instance", "/api/v2/instance") and self.instance_available:
            config = {"statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                                   "characters_reserved_per_url": self.url_reserved},
                      "media_attachments": {"supported_mime_types": list(self.media_types),
                                            "image_size_limit": self.image_size_limit,
                                            "video_size_limit": self.video_size_limit}}
            doc = {"uri": DOMAIN, "domain": DOMAIN, "title": "Local test server", "version": "4.3.0",
                   "api_versions": {"mastodon": 2},
                   "configuration": config}
            if self.software == "takahe":
                doc = {**doc, "version": "takahe/0.11.0", "api_versions": {}}
                if path == "/api/v2/instance":
                    doc["source_url"] = "https://github.com/jointakahe/takahe"
            return 200, doc, {}
        if viewer is None:
            raise ApiError(401, "The access token is invalid")
        me = self.accounts[viewer]
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            return 200, {**me, "source": {"privacy": "public", "language": "en", "note": ""}}, {}
        m = re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path)
        if m and method == "GET":
            with self.lock:
                mine = [s for s in self.statuses.values() if s["account_id"] == m.group(1) and self._visible(s, viewer)
                        and not (self.takahe and s["visibility"] in ("private", "direct"))]
                if params.get("exclude_direct") in ("true", "1", "True"):
                    mine = [s for s in mine if s["visibility"] != "direct"]
                page, link = self._page(mine, params, path)
                return 200, [self._status_json(s, viewer) for s in page], link
        if path == "/api/v1/statuses" and method == "POST":
            return self._post_status(me, params, headers)
        if path in ("/api/v1/media", "/api/v2/media") and method == "POST":
            status, doc = self._create_medium(me, params, 2 if path.startswith("/api/v2") else 1)
            return status, doc, {}
        m = re.fullmatch(r"/api/v1/media/(\d+)", path)
        if m and method == "GET":
            with self.lock:
                medium = self.media.get(m.group(1))
                if medium is None or medium["account_id"] != viewer:
                    raise ApiError(404, "Record not found")
                return (200 if self._processed(medium) else 206), self._medium_json(medium), {}
        m = re.fullmatch(r"/api/v1/statuses/(\d+)/context", path)
        if m and method == "GET":
            with self.lock:
                status = self.statuses.get(m.group(1))
                if status is None or not self._visible(status, viewer):
                    raise ApiError(404, "Record not found")
                descendants, queue = [], [status["id"]]
                while queue:
                    parent = queue.pop(0)
                    for child in sorted(self.statuses.values(), key=lambda x: int(x["id"])):
                        if child["in_reply_to_id"] == parent and self._visible(child, viewer):
                            descendants.append(child)
                            queue.append(child["id"])
                ancestors = []
                node = status
                while node["in_reply_to_id"] and node["in_reply_to_id"] in self.statuses:
                    node = self.statuses[node["in_reply_to_id"]]
                    if not self._visible(node, viewer):
                        break
                    ancestors.insert(0, node)
                return 200, {"ancestors": [self._status_json(x, viewer) for x in ancestors],
                             "descendants": [self._status_json(x, viewer) for x in descendants]}, {}
        m = re.fullmatch(r"/api/v1/statuses/(\d+)(/favourite|/reblog)?", path)
        if m:
            with self.lock:
                status = self.statuses.get(m.group(1))
                if status is None or not self._visible(status, viewer):
                    raise ApiError(404, "Record not found")
                action = m.group(2)
                if action is None and method == "GET":
                    return 200, self._status_json(status, viewer), {}
                if action is None and method == "DELETE":
                    if status["account_id"] != viewer:
                        raise ApiError(403, "This action is not allowed")
                    doc = {**self._status_json(status, viewer), "text": status["text"]}
                    status["deleted"] = True
                    return 200, doc, {}
                if action == "/favourite" and method == "POST":
                    self.favourites.add((viewer, status["id"]))  # a repeat is a no-op, like Mastodon
                    return 200, self._status_json(status, viewer), {}
                if action == "/reblog" and method == "POST":
                    if status["visibility"] not in ("public", "unlisted"):
                        raise ApiError(422, "Validation failed: Reblog of status is not allowed")
                    if (viewer, status["id"]) not in self.reblogs:
                        rid = self._next_id()
                        self.statuses[rid] = {**status, "id": rid, "account_id": viewer, "reblog_of": status["id"],
                                              "mentions": [], "created_at": datetime.now(UTC), "in_reply_to_id": None,
                                              "in_reply_to_account_id": None}
                        self.reblogs[(viewer, status["id"])] = rid
                    return 200, self._status_json(self.statuses[self.reblogs[(viewer, status["id"])]], viewer), {}
        if path == "/api/v1/notifications" and method == "GET":
            types = params.get("types[]") or []
            with self.lock:
                mine = [n for n in self.notifications if n["recipient"] == viewer and (not types or n["type"] in types)
                        and not self.statuses[n["status_id"]].get("deleted")]
                page, link = self._page(mine, params, path)
                docs = [{"id": n["id"], "type": n["type"], "created_at": _iso(n["created_at"]),
                         "account": self.accounts[n["from"]],
                         "status": self._status_json(self.statuses[n["status_id"]], viewer)} for n in page]
                return 200, docs, link
        m = re.fullmatch(r"/api/v1/timelines/tag/(\w+)", path)
        if m and method == "GET":
            tag = m.group(1).lower()
            with self.lock:
                found = [s for s in self.statuses.values() if s["visibility"] == "public" and not s.get("deleted")
                         and not s.get("reblog_of") and any(t["name"] == tag for t in s["tags"])]
                page, link = self._page(found, params, path)
                return 200, [self._status_json(s, viewer) for s in page], link
        if path == "/api/v2/search" and method == "GET":
            q = str(params.get("q") or "").lower()
            with self.lock:
                found = [s for s in self.statuses.values() if s["visibility"] == "public" and not s.get("deleted")
                         and not s.get("reblog_of") and q and q in s["text"].lower()]
                page, _ = self._page(found, params, path)
                return 200, {"accounts": [], "hashtags": [], "statuses": [self._status_json(s, viewer) for s in page]}, {}
        raise ApiError(404, "Not found")

    def _post_status(self, me: dict, params: dict, headers) -> tuple[int, object, dict]:
        with self.lock:
            drop = self.drop_posts > 0
            if drop:
                self.drop_posts -= 1
        if drop:
            raise Dropped()
        key = headers.get("Idempotency-Key")
        record = (me["id"], key) if key and self.idempotency != "ignore" else None
        if record is not None:
            with self.lock:
                existing = self.idempotency_records.get(record)
                if existing is not None:
                    return 200, self._status_json(self.statuses[existing], me["id"]), {}
                if self.idempotency == "honour":
                    status = self._create_status(me, params)  # checked and recorded under one lock
                    self.idempotency_records[record] = status["id"]
        if record is None or self.idempotency == "race":
            if self.work_time:
                time.sleep(self.work_time)  # the request is being processed; no record yet
            status = self._create_status(me, params)
            if record is not None:
                with self.lock:
                    self.idempotency_records.setdefault(record, status["id"])  # written only now
        if self.answer_delay:
            time.sleep(self.answer_delay)  # created; the answer comes after the client gave up
        with self.lock:
            return 200, self._status_json(status, me["id"]), {}


def _multipart(content_type: str, raw: bytes) -> dict:
    """A multipart/form-data body: plain fields as strings, a file as {filename, content_type, data}."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    out: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        data = part.get_payload(decode=True) or b""
        if filename is not None:
            out[name] = {"filename": filename, "content_type": part.get_content_type(), "data": data}
        elif name.endswith("[]"):
            out.setdefault(name, []).append(data.decode())
        else:
            out[name] = data.decode()
    return out


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Dropped(Exception):
    """The server went away while handling the request, before storing anything."""
