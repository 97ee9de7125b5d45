"""Fixtures for the Celery tests: a real worker subprocess (with embedded beat) on real Redis,
a real HTTP server on 127.0.0.1 as the platform, and a private redis-server for the tests that
stop or restart Redis (the shared one on 6379 is never touched)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from .platform import Platform

ROOT = Path(__file__).resolve().parents[2]
SECRET_ENV = "PARLEY_SECRET_TEST_CHANNEL"
SECRET = "channel-secret-for-tests"
PRIVATE_REDIS_PORT = int(os.environ.get("PARLEY_TEST_PRIVATE_REDIS_PORT", "6395"))

#: Settings the worker runs with: short intervals so the tests are quick. The hard time limit
#: (CELERY_VISIBILITY_TIMEOUT // 4 = 10 s) stays under the claim timeout (12 s).
FAST = {
    "OUTBOX_RELAY_INTERVAL": "0.3",
    "PUBLISH_SWEEP_INTERVAL": "0.5",
    "PUBLISH_BACKOFF_BASE": "0.2",
    "PUBLISH_BACKOFF_MAX": "1.0",
    "PUBLISH_MAX_ATTEMPTS": "5",
    "PUBLISH_HTTP_TIMEOUT": "3",
    "CELERY_VISIBILITY_TIMEOUT": "40",
    "PUBLISH_CLAIM_TIMEOUT": "12",
    "OUTBOX_LEASE_SECONDS": "15",
}


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def worker_database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def platform_server():
    server = Platform().start()
    yield server
    server.stop()


@pytest.fixture
def platform(platform_server):
    platform_server.reset()
    yield platform_server
    platform_server.reset()


@pytest.fixture
def webhook_channels(demo, platform, monkeypatch):
    """dpe-en and dpe-fr publish to the local platform through the webhook adapter."""
    from workflows.models import Channel

    monkeypatch.setenv(SECRET_ENV, SECRET)
    config = {"url": f"{platform.url}/publish", "lookup_url": f"{platform.url}/lookup", "secret_env": SECRET_ENV}
    Channel.objects.filter(slug__in=["dpe-en", "dpe-fr"]).update(adapter="webhook", adapter_config=config)
    return config


class Worker:
    """`celery worker -B` in its own process group, so a kill takes pool and beat with it."""

    count = 0

    def __init__(self, *, broker_url: str, workdir: Path, extra_env: dict | None = None):
        self.broker_url = broker_url
        self.workdir = workdir
        self.mail_dir = workdir / "mail"
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.restarts = 0
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()

    def supervise(self) -> Worker:
        """Restart the worker whenever it exits, as systemd or Docker's restart policy would:
        a Celery 5.7 worker can exit on an unrecoverable error when Redis goes away."""

        def loop():
            while not self._stopping.wait(0.5):
                proc = self.proc
                if proc is not None and proc.poll() is not None:
                    self.restarts += 1
                    self.start(wait=False)

        self._supervisor = threading.Thread(target=loop, daemon=True)
        self._supervisor.start()
        return self

    def env(self) -> dict:
        env = {**os.environ, **FAST, **self.extra_env}
        env.update({
            "DJANGO_SETTINGS_MODULE": "tests.celery.worker_settings",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": self.broker_url,
            "CELERY_BROKER_URL": self.broker_url,
            "PARLEY_TEST_MAIL_DIR": str(self.mail_dir),
            SECRET_ENV: SECRET,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        })
        return env

    def start(self, *, wait: bool = True) -> Worker:
        Worker.count += 1
        n = Worker.count
        self.log_path = self.workdir / f"worker-{n}.log"
        cmd = [
            str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "-B",
            "-s", str(self.workdir / f"beat-{n}"), "-Q", "celery,notify,publish", "-c", "2",
            "-l", "info", "-n", f"parley-test-{os.getpid()}-{n}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env(), stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            wait_for(lambda: self.proc.poll() is not None or b" ready." in self.log_path.read_bytes(),
                     timeout=30, what="the worker to be ready")
            assert self.proc.poll() is None, self.log()
        return self

    def kill(self, *, final: bool = False) -> None:
        """SIGKILL the whole process group: main process, pool children and beat."""
        if final:
            self._stopping.set()
            if self._supervisor is not None:
                self._supervisor.join(timeout=5)
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        logs = sorted(self.workdir.glob("worker-*.log"), key=lambda p: p.stat().st_mtime)
        return "".join(p.read_text(errors="replace") for p in logs)[-4000:]

    def emails(self) -> list[str]:
        """Every email the worker sent (the file backend writes one file per connection)."""
        text = "".join(p.read_text(errors="replace") for p in sorted(self.mail_dir.glob("*.log")))
        return [part for part in text.split("-" * 79) if "Subject:" in part]


def _flush(url: str) -> None:
    """Drop Celery's queues left by earlier runs — only those keys: the same Redis database
    may hold the cache of the rest of the suite."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        keys = ["celery", "notify", "publish", "unacked", "unacked_index", "unacked_mutex",
                *client.keys("_kombu.binding.*")]
        client.delete(*keys)
    except redis.RedisError:
        pass


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real workers: start_worker(broker_url=...). Killed at the end of the test, before
    pytest-django empties the database."""
    workers: list[Worker] = []

    def start(*, broker_url: str | None = None, extra_env: dict | None = None, supervised: bool = False) -> Worker:
        url = broker_url or settings.REDIS_URL
        _flush(url)  # drop messages of earlier runs
        worker = Worker(broker_url=url, workdir=tmp_path, extra_env=extra_env).start()
        workers.append(worker)
        return worker.supervise() if supervised else worker

    yield start
    for w in workers:
        w.kill(final=True)


class PrivateRedis:
    """A redis-server of our own (no persistence), so tests can stop and restart it."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        import redis

        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def up():
            try:
                return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
            except redis.RedisError:
                return False

        wait_for(up, timeout=10, what=f"redis-server on {self.port}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_redis(tmp_path, redis_url):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is needed for the Redis outage and chaos tests")
    server = PrivateRedis(PRIVATE_REDIS_PORT, tmp_path).start()
    yield server
    server.stop()
