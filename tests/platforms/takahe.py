"""Takahē (jointakahe/takahe, a Django server implementing the Mastodon client API) as the second
real Mastodon-API peer, beside the local server (tests/platforms/mastodon_server.py). A plugin
loaded by tests/conftest.py, so a session has one Takahē whichever directories are collected.

Takahē's source cannot be vendored or built by this repository (the workplace forbids committing
fetched code, a binary built from it, or any recipe that builds it): an operator builds it beside
the project, at TAKAHE_HOME (default /work/takahe): `src/` (the source, with collected static
files) and `venv/` (Python 3.11 with its pinned requirements). See docs/publishing.md, "Takahē".
This module only *starts* an already-built Takahē: when it is not there, every Takahē case is
skipped with a loud reason (or fails, when TAKAHE_REQUIRED is set, as CI should).

Once per session: a fresh database cloned from a migrated, seeded template (the template is made
once per Takahē version, under an advisory lock), one gunicorn worker (4 threads) and one
`manage.py runstator` (concurrency 4) on free loopback ports, DEBUG off, no outside network (the
local domain is `takahe.test`, which never resolves). Stopped, and the database dropped, at the
end of the session.

`mastodon_peer` (parametrized "local" / "takahe") gives the Mastodon scenarios one interface to
both servers; everything a test counts it counts on the server (for Takahē, through its API).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

TAKAHE_HOME = Path(os.environ.get("TAKAHE_HOME", "/work/takahe"))
NOT_BUILT = "Takahē not built here (its source cannot be committed; see docs/publishing.md)"
START_TIMEOUT = float(os.environ.get("TAKAHE_START_TIMEOUT", "120"))
DOMAIN = "takahe.test"
#: Changing the seed below changes the template's name (a new template is made).
SEED_VERSION = "1"
GOV_EN, GOV_FR, CITIZENS = "dpe_en", "dpe_fr", ("alice", "bob", "chloe")

#: Run by Takahē's own `manage.py shell`: its ORM creates the local domain, an admin (its
#: /api/v2/instance answers 500 without one: api/views/instance.py reads the first admin's
#: identity), the government and citizen accounts, and an API token for each.
SEED = f"""
import secrets
from api.models import Application, Token
from users.models import Domain, User
from users.services import IdentityService
domain = Domain.objects.create(domain={DOMAIN!r}, local=True, public=True, default=True, state="updated")
app = Application.create(client_name="Parley tests", redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                         website=None, scopes="read write follow push")
accounts = [("admin", "Admin", True), ({GOV_EN!r}, "Department of Public Examples", False),
            ({GOV_FR!r}, "Ministère des exemples publics", False),
            ("alice", "Alice Tremblay", False), ("bob", "Bob Gagnon", False), ("chloe", "Chloé Roy", False)]
for username, name, admin in accounts:
    user = User.objects.create(email=username + "@{DOMAIN}", admin=admin)
    identity = IdentityService.create(user=user, username=username, domain=domain, name=name)
    Token.objects.create(application=app, user=user, identity=identity, token=secrets.token_urlsafe(32),
                         scopes=["read", "write", "follow", "push"])
"""


def takahe_missing(home: Path = TAKAHE_HOME) -> str | None:
    """Why Takahē cannot be started from `home`, or None when it can."""
    needed = [home / "venv" / "bin" / "gunicorn", home / "src" / "manage.py",
              home / "src" / "static-collected" / "staticfiles.json"]
    missing = [str(p) for p in needed if not p.exists()]
    return f"{NOT_BUILT}: missing {', '.join(missing)}" if missing else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _conninfo() -> dict:
    db = settings.DATABASES["default"]
    return dict(host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432,
                user=db.get("USER") or "postgres", password=db.get("PASSWORD") or None)


def _db_url(name: str) -> str:
    c = _conninfo()
    auth = f"{c['user']}:{c['password']}@" if c["password"] else f"{c['user']}@"
    return f"postgres://{auth}{c['host']}:{c['port']}/{name}"


def _fingerprint(src: Path) -> str:
    """Takahē's schema version (its migration files) and the seed: the template's identity."""
    digest = hashlib.sha256(SEED_VERSION.encode() + SEED.encode())
    for path in sorted(src.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(src)).encode())
    return digest.hexdigest()[:12]


@dataclass
class PeerAccount:
    username: str
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Takahe:
    home: Path
    url: str
    database: str
    accounts: dict[str, PeerAccount]
    startup_seconds: float
    gunicorn: subprocess.Popen
    stator: subprocess.Popen
    logs: Path
    env: dict = field(repr=False, default_factory=dict)

    def freeze(self) -> None:
        """SIGSTOP gunicorn (master and worker): connections are accepted by the kernel and
        nothing answers; what was sent is processed after thaw()."""
        os.killpg(self.gunicorn.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.gunicorn.pid, signal.SIGCONT)

    def alive(self) -> str | None:
        for name, proc in (("gunicorn", self.gunicorn), ("runstator", self.stator)):
            if proc.poll() is not None:
                return f"Takahē's {name} exited ({proc.returncode}): {self.log_tail(name)}"
        return None

    def log_tail(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _prepare_database(home: Path) -> str:
    """A fresh database for this session, cloned from the migrated and seeded template (made
    first when this Takahē version has none). Returns its name."""
    import psycopg

    src = home / "src"
    db = settings.DATABASES["default"]
    base = (db.get("NAME") or "parley").removeprefix("test_")
    name = f"{base}_takahe"
    template = f"takahe_tpl_{_fingerprint(src)}"
    with psycopg.connect(**_conninfo(), dbname="postgres", autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('parley-takahe-template'))")
        try:
            if not conn.execute("select 1 from pg_database where datname = %s", [template]).fetchone():
                building = f"{template}_building"
                conn.execute(f'drop database if exists "{building}" with (force)')
                conn.execute(f'create database "{building}"')
                env = _takahe_env(home, building)
                for cmd in (["manage.py", "migrate", "--noinput", "-v0"], ["manage.py", "shell", "-c", SEED]):
                    done = subprocess.run([str(home / "venv" / "bin" / "python"), *cmd], cwd=src, env=env,
                                          capture_output=True, text=True, timeout=300)
                    if done.returncode:
                        pytest.fail(f"Takahē's {cmd[1]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
                conn.execute(f'alter database "{building}" rename to "{template}"')
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'create database "{name}" template "{template}"')
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('parley-takahe-template'))")
    return name


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(**_conninfo(), dbname="postgres", autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _accounts(name: str) -> dict[str, PeerAccount]:
    import psycopg

    with psycopg.connect(**_conninfo(), dbname=name) as conn:
        rows = conn.execute("select i.username, i.id, t.token from api_token t "
                            "join users_identity i on i.id = t.identity_id").fetchall()
    return {u: PeerAccount(username=u, id=str(i), token=t) for u, i, t in rows}


def _takahe_env(home: Path, database: str, media: Path | None = None, media_url: str = "") -> dict:
    """Takahē's settings (takahe/settings.py reads TAKAHE_* through pydantic): its own database,
    DEBUG off, a local domain that never resolves, e-mail to the console, no .env file read.
    Nothing of Parley's environment (DJANGO_SETTINGS_MODULE, DATABASE_URL...) leaks in.
    Media (issue 22) on the local filesystem backend: with DEBUG off Takahē needs an absolute
    MEDIA_URL (an upload otherwise answers 500: core/uris.py "is not absolute")."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TZ")}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "takahe.settings",
        "TAKAHE_ENV_FILE": "/dev/null",
        "TAKAHE_DATABASE_SERVER": _db_url(database),
        "TAKAHE_DEBUG": "false",
        "TAKAHE_SECRET_KEY": "parley-tests-" + secrets.token_hex(16),
        "TAKAHE_MAIN_DOMAIN": DOMAIN,
        "TAKAHE_EMAIL_SERVER": "console://localhost",
        "TAKAHE_MEDIA_ROOT": str(media or (home / "media")),
        "TAKAHE_MEDIA_BACKEND": "local://",
        "TAKAHE_MEDIA_URL": media_url or "http://127.0.0.1/media/",
        "TAKAHE_REMOTE_TIMEOUT": "2.0",
        "TAKAHE_STATOR_CONCURRENCY": "4",
        "TAKAHE_STATOR_CONCURRENCY_PER_MODEL": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _stop(proc: subprocess.Popen, first: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGCONT)
        os.killpg(proc.pid, first)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def takahe(tmp_path_factory) -> Iterator[Takahe]:
    """The session's Takahē, started on free ports (skipped, loudly, when not built here)."""
    problem = takahe_missing()
    if problem:
        if os.environ.get("TAKAHE_REQUIRED"):
            pytest.fail(problem)
        pytest.skip(problem)
    home = TAKAHE_HOME
    started = time.monotonic()
    database = _prepare_database(home)
    logs = tmp_path_factory.mktemp("takahe")
    port = _free_port()
    env = _takahe_env(home, database, logs / "media", f"http://127.0.0.1:{port}/media/")
    venv = home / "venv" / "bin"
    gunicorn = subprocess.Popen(
        [str(venv / "gunicorn"), "takahe.wsgi:application", "--workers", "1", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "3",
         # Idle connections kept 75 s (nginx's default in front of a real server): with gunicorn's
         # own 2 s, a request sent on a kept-alive connection while the server is frozen may be
         # dropped unread at thaw (the connection "timed out" meanwhile) instead of processed.
         "--keep-alive", "75"],
        cwd=home / "src", env=env, stdout=open(logs / "gunicorn.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True)
    stator = subprocess.Popen(
        [str(venv / "python"), "manage.py", "runstator", "--concurrency", "4", "--schedule-interval", "30"],
        cwd=home / "src", env=env, stdout=open(logs / "runstator.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True)
    peer = Takahe(home=home, url=f"http://127.0.0.1:{port}", database=database, accounts=_accounts(database),
                  startup_seconds=0.0, gunicorn=gunicorn, stator=stator, logs=logs, env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            dead = peer.alive()
            if dead:
                pytest.fail(dead)
            try:
                if httpx.get(f"{peer.url}/api/v1/instance", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Takahē did not answer in {START_TIMEOUT:.0f} s: {peer.log_tail('gunicorn')}")
            time.sleep(0.1)
        peer.startup_seconds = time.monotonic() - started
        print(f"\nTakahē started in {peer.startup_seconds:.1f} s: {peer.url} (database {database})")
        yield peer
    finally:
        peer.thaw()  # never leave it stopped
        _stop(gunicorn, signal.SIGTERM)
        _stop(stator, signal.SIGINT)  # runstator: one SIGINT is its graceful shutdown
        _drop_database(database)


# --- one interface to both servers ------------------------------------------------------------

class Peer:
    """A Mastodon-API server as the scenarios see it: accounts with tokens, a citizen's client
    (statuses posted through the API), and the server's own count of what the government
    accounts published."""

    name = ""
    url = ""
    accounts: dict[str, PeerAccount]
    #: Does the server store a status's language? (Takahē does not: `"language": None` always,
    #: activities/models/post.py Post.to_mastodon_json.)
    stores_language = True

    @property
    def gov_en(self) -> PeerAccount:
        return self.accounts[GOV_EN]

    @property
    def gov_fr(self) -> PeerAccount:
        return self.accounts[GOV_FR]

    def api(self, method: str, path: str, as_: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers=self.accounts[as_].auth, timeout=10, **kwargs)

    def post_as(self, username: str, text: str, *, visibility: str = "public", in_reply_to_id: str | None = None,
                spoiler_text: str = "", language: str | None = None) -> dict:
        """A citizen writes, through the server's API as their own client would."""
        body: dict[str, Any] = {"status": text, "visibility": visibility}
        if in_reply_to_id:
            body["in_reply_to_id"] = in_reply_to_id
        if spoiler_text:
            body["spoiler_text"] = spoiler_text
        if language:
            body["language"] = language
        r = self.api("POST", "/api/v1/statuses", username, json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def status(self, status_id: str, as_: str) -> dict | None:
        r = self.api("GET", f"/api/v1/statuses/{status_id}", as_)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return r.json()

    def delete(self, status_id: str, as_: str) -> None:
        r = self.api("DELETE", f"/api/v1/statuses/{status_id}", as_)
        assert r.status_code == 200, r.text

    def wait_mentioned(self, gov: PeerAccount, status_id: str, timeout: float = 30.0) -> None:
        """Until the server lists the mention among `gov`'s notifications (Takahē makes them in
        its background processor, Stator, a few seconds later)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.api("GET", "/api/v1/notifications", gov.username, params={"limit": 40})
            assert r.status_code == 200, r.text
            if any((n.get("status") or {}).get("id") == status_id for n in r.json()):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name}: no notification of {status_id} for {gov.username} after {timeout} s")
            time.sleep(0.25)

    def replies_by(self, gov: PeerAccount, parent_id: str) -> list[dict]:
        """Every status of `gov` that replies to `parent_id`, on the server, whatever its
        visibility: what the tests count."""
        raise NotImplementedError

    def statuses_by_text(self, gov: PeerAccount, text: str) -> list[dict]:
        """`gov`'s public and unlisted statuses (replies included) whose text contains `text`."""
        raise NotImplementedError

    @contextlib.contextmanager
    def unclear(self, seconds: float) -> Iterator[None]:
        """For `seconds`, a status sent is stored but the client hears nothing in time."""
        raise NotImplementedError
        yield


class TakahePeer(Peer):
    name = "takahe"
    stores_language = False

    def __init__(self, server: Takahe):
        self.server = server
        self.url = server.url
        self.accounts = server.accounts

    def replies_by(self, gov: PeerAccount, parent_id: str) -> list[dict]:
        # Takahē lists no private or direct status in GET /api/v1/accounts/:id/statuses, not
        # even to its author (api/views/accounts.py account_statuses: `.unlisted()`); the
        # parent's context shows its author every reply of theirs (PostService.context with
        # Post.visible_to(identity): `author=identity`).
        r = self.api("GET", f"/api/v1/statuses/{parent_id}/context", gov.username)
        assert r.status_code == 200, r.text
        return [s for s in r.json()["descendants"]
                if s["account"]["id"] == gov.id and s["in_reply_to_id"] == parent_id]

    def statuses_by_text(self, gov: PeerAccount, text: str) -> list[dict]:
        out, max_id = [], None
        while True:
            params: dict[str, Any] = {"limit": 40, **({"max_id": max_id} if max_id else {})}
            r = self.api("GET", f"/api/v1/accounts/{gov.id}/statuses", gov.username, params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            if not page:
                return out
            out.extend(s for s in page if text in s["content"])
            max_id = page[-1]["id"]

    @contextlib.contextmanager
    def unclear(self, seconds: float) -> Iterator[None]:
        self.server.freeze()
        frozen = time.monotonic()
        try:
            yield
            time.sleep(max(0.0, seconds - (time.monotonic() - frozen)))
        finally:
            self.server.thaw()


class LocalPeer(Peer):
    name = "local"

    def __init__(self, server: Any):
        self.server = server
        self.url = server.url
        self.accounts = {}
        for username, display in ((GOV_EN, "Department of Public Examples"),
                                  (GOV_FR, "Ministère des exemples publics"),
                                  *((c, c.title()) for c in CITIZENS)):
            token = f"local-token-{username}"
            acc = server.add_account(username, token, display)
            self.accounts[username] = PeerAccount(username=username, id=acc["id"], token=token)

    def replies_by(self, gov: PeerAccount, parent_id: str) -> list[dict]:
        # The local server is in this process: its store is the ground truth.
        return [s for s in self.server.statuses_of(gov.username) if s["in_reply_to_id"] == parent_id]

    def statuses_by_text(self, gov: PeerAccount, text: str) -> list[dict]:
        return [s for s in self.server.statuses_of(gov.username) if text in s["text"]]

    @contextlib.contextmanager
    def unclear(self, seconds: float) -> Iterator[None]:
        # It cannot be SIGSTOPped (it runs in this process): it stores the status at once and
        # answers `seconds` later, after the client's timeout.
        self.server.answer_delay = seconds
        try:
            yield
        finally:
            self.server.answer_delay = 0.0


PEERS = ["local", "takahe"]
PEER_TOKEN_ENV = {"en": "PARLEY_SECRET_TEST_PEER_EN", "fr": "PARLEY_SECRET_TEST_PEER_FR"}


@pytest.fixture(params=PEERS)
def mastodon_peer(request) -> Iterator[Peer]:
    """The Mastodon scenarios' server: the local one, then Takahē (skipped when not built)."""
    if request.param == "takahe":
        server = request.getfixturevalue("takahe")
        dead = server.alive()
        if dead:
            pytest.fail(dead)
        yield TakahePeer(server)
        server.thaw()
    else:
        server = request.getfixturevalue("mastodon_server")
        server.reset()
        server.max_characters, server.url_reserved = 500, 23  # reset() keeps what other tests set
        yield LocalPeer(server)
        server.reset()


@pytest.fixture
def peer_channels(demo, mastodon_peer, monkeypatch, settings) -> Peer:
    """dpe-en posts as dpe_en and dpe-fr as dpe_fr on the peer (fresh clients, short timeouts)."""
    from workflows.channels import mastodon as adapter_module
    from workflows.models import Channel

    monkeypatch.setenv(PEER_TOKEN_ENV["en"], mastodon_peer.gov_en.token)
    monkeypatch.setenv(PEER_TOKEN_ENV["fr"], mastodon_peer.gov_fr.token)
    settings.PUBLISH_HTTP_TIMEOUT = 2
    settings.MASTODON_INFLIGHT_SECONDS = 1.0
    adapter_module._local.__dict__.pop("clients", None)
    for slug, lang in (("dpe-en", "en"), ("dpe-fr", "fr")):
        Channel.objects.filter(slug=slug).update(adapter="mastodon", adapter_config={
            "api_base_url": mastodon_peer.url, "token_env": PEER_TOKEN_ENV[lang], "visibility": "public"})
    yield mastodon_peer
    adapter_module._local.__dict__.pop("clients", None)
