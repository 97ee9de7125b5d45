from __future__ import annotations

import os

import pytest
from django.conf import settings

#: The AT Protocol stack's session fixtures (atproto_stack, make_account, bsky_channel), shared
#: by tests/atproto and the chaos test across platforms in tests/celery: one stack per session.
#: Takahē (a real Mastodon-API server, built beside the project) and `mastodon_peer`, likewise.
pytest_plugins = ["tests.atproto.stack", "tests.platforms.takahe"]


def _database_reachable() -> str | None:
    import psycopg

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return None
    try:
        psycopg.connect(
            host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432,
            user=db.get("USER") or None, dbname="postgres", connect_timeout=3,
        ).close()
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} is unreachable: {exc}"
    return None


def _redis_reachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {settings.REDIS_URL} is unreachable: {exc}"
    return None


def pytest_sessionstart(session):
    problem = _database_reachable()
    if problem:
        pytest.exit(f"{problem}\nStart it (see README, 'Operations') and run make test again.", returncode=1)
    if os.environ.get("CI"):
        problem = _redis_reachable()
        if problem:
            pytest.exit(f"{problem}\nCI needs the real Redis; .ci/run starts it.", returncode=1)


@pytest.fixture
def redis_url():
    """The real Redis the suite runs against (skipped outside CI when it is not running)."""
    problem = _redis_reachable()
    if problem:
        pytest.skip(problem)
    return settings.REDIS_URL


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the demo data once; tests roll back their own changes around it."""
    from workflows.demo import seed_demo

    with django_db_blocker.unblock():
        seed_demo()


class Demo:
    """The demo users and objects by name: demo.dana, demo.channel('dpe-en'), demo.lane(...)."""

    def __init__(self):
        from accounts.models import User

        self.users = {u.username: u for u in User.objects.select_related("organisation")}

    def __getattr__(self, name):
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None

    def channel(self, slug):
        from workflows.models import Channel

        return Channel.objects.get(slug=slug)

    def lane(self, slug, org="dpe"):
        from workflows.models import Lane

        return Lane.objects.get(slug=slug, organisation__slug=org)


@pytest.fixture
def demo(db):
    """The demo data (re-seeded after a transactional test emptied the tables)."""
    from accounts.models import User
    from workflows.demo import seed_demo

    if not User.objects.filter(username="dana").exists():
        seed_demo()
    return Demo()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests run last. Playwright keeps an event loop running in the main thread for the
    rest of the session, and Django then refuses synchronous database calls in later tests.

    `@pytest.mark.postgresql("why")` marks a test that needs PostgreSQL itself; the reason is
    required. `make test` runs the service and API tests a second time on SQLite (the embedded
    default) without them (`-m "not postgresql"`); run by hand on SQLite they are skipped with it."""
    on_sqlite = not settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    for item in items:
        mark = item.get_closest_marker("postgresql")
        if mark is None:
            continue
        if not (mark.args and isinstance(mark.args[0], str) and mark.args[0].strip()):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.postgresql needs a reason")
        if on_sqlite:
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {mark.args[0]}"))
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(monkeypatch):
    """Throttle counters live in the shared cache (Redis, shared by runs and tests): give every
    test its own empty in-memory counters. Unauthenticated requests count against the anonymous
    rate since issue 9, so counts left by earlier tests would otherwise turn 401s into 429s."""
    import uuid

    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


@pytest.fixture(autouse=True)
def _english_between_tests():
    """A test that activates French (a request in French, a service rendering for a French
    reader) must not leave it active for the next test's words."""
    from django.utils import translation

    yield
    translation.activate("en")
