"""The embedded default (`make run`: SQLite, DEBUG on, runserver, tasks in-process) behaves like
a database under concurrency, and its debug pages never reach /api/.

One server for the module, started as `make run` starts it, on a fresh SQLite file."""
from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter

import pytest
import requests

from .server import BIN, Server, free_port, run, server_env

APPROVERS = 10
BUSY_TIMEOUT = 4  # seconds; the server's SQLITE_BUSY_TIMEOUT, kept short for the lock test
RESULTS: dict[str, object] = {}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sqlite")
    db = tmp / "parley.sqlite3"
    env = server_env(DEBUG="true", DATABASE_URL=f"sqlite:///{db}", REDIS_URL="", CELERY_BROKER_URL="",
                     SQLITE_BUSY_TIMEOUT=str(BUSY_TIMEOUT), PUBLISH_LOG_PATH=str(tmp / "publications.log"))
    python = str(BIN / "python")
    run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    run([python, "manage.py", "seed_demo"], env)
    tokens = {u: run([python, "manage.py", "issue_token", u], env).stdout.strip()
              for u in ("dana", "rami")}
    port = free_port()
    server = Server([python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                    env, port, tmp / "runserver.log")
    server.tokens = tokens
    server.db = db
    yield server
    server.stop()


def api(server, method, path, user=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if user:
        headers["Authorization"] = f"Token {server.tokens[user]}"
    return requests.request(method, server.url(path), headers=headers, timeout=60, **kwargs)


def _post_waiting_for_rami(server) -> tuple[int, str]:
    """A post at the review step, and its ETag (the version an approver has on screen)."""
    r = api(server, "POST", "/api/v1/posts/", "dana", json={
        "channels": ["dpe-en", "dpe-fr"], "kind": "post", "lane": "official",
        "texts": {"en": "Our Ottawa office reopens on Monday at 9:00."}, "rules_acknowledged": True})
    assert r.status_code == 201, r.text
    post_id = r.json()["id"]
    r = api(server, "POST", f"/api/v1/posts/{post_id}/submit/", "dana", headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "in_review"
    return post_id, r.headers["ETag"]


def test_concurrent_approvals_one_winner_the_rest_409(embedded):
    post_id, etag = _post_waiting_for_rami(embedded)
    barrier = threading.Barrier(APPROVERS)
    codes: list[int] = []
    bodies: list[str] = []

    def approve():
        barrier.wait()
        r = api(embedded, "POST", f"/api/v1/posts/{post_id}/approve/", "rami", json={"comment": "Fine."},
                headers={"If-Match": etag})
        codes.append(r.status_code)
        bodies.append(r.text[:300])

    threads = [threading.Thread(target=approve) for _ in range(APPROVERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen = Counter(codes)
    RESULTS["approvals"] = dict(seen)
    print(f"\n{APPROVERS} concurrent approvals on SQLite: {dict(seen)}")
    assert seen[200] == 1, (seen, bodies)
    assert seen[409] == APPROVERS - 1, (seen, bodies)
    post = api(embedded, "GET", f"/api/v1/posts/{post_id}/", "dana")
    assert post.headers["ETag"] == f'W/"{int(etag[3:-1]) + 1}"'  # one approval, one new version


def test_a_locked_database_is_503_problem_not_500(embedded):
    """Another process holds the write lock past the busy timeout: the API answers 503 problem
    details with Retry-After (nothing half-written), never a 500 or a debug page."""
    post_id, _etag = _post_waiting_for_rami(embedded)
    holder = sqlite3.connect(embedded.db, timeout=30, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        r = api(embedded, "POST", f"/api/v1/posts/{post_id}/approve/", "rami", json={"comment": "Fine."})
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.status_code == 503, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:parley:problem:busy"
    assert r.headers["Retry-After"]
    assert waited >= BUSY_TIMEOUT * 0.8  # it waited for the lock first
    # and once the lock is gone the same approval goes through
    r = api(embedded, "POST", f"/api/v1/posts/{post_id}/approve/", "rami", json={"comment": "Fine."})
    assert r.status_code == 200, r.text


def test_ten_megabyte_body_is_413_problem_not_a_debug_page(embedded):
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    for user in ("rami", None):
        r = api(embedded, "POST", "/api/v1/posts/", user, data=body,
                headers={"Content-Type": "application/json"})
        assert r.status_code == 413, (r.status_code, r.text[:300])
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["type"] == "urn:parley:problem:too_large"
        assert "DATABASE_URL" not in r.text and "Traceback" not in r.text
    page = requests.post(embedded.url("/accounts/login/"), data=body, timeout=60,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert page.status_code == 413
    assert "text/html" in page.headers["Content-Type"]
    assert "too large" in page.text and "DATABASE_URL" not in page.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/no-such-thing/"),        # resolver 404: Django's technical 404 with DEBUG on
    ("GET", "/api/v1/posts/999999/"),
    ("DELETE", "/api/v1/posts/"),
])
def test_api_errors_are_problem_details_with_debug_on(embedded, method, path):
    r = api(embedded, method, path, "rami")
    assert r.status_code in (404, 405), r.status_code
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.text[:300]
    assert "DATABASE_URL" not in r.text and "settings" not in r.text.lower()


def test_a_locked_database_on_a_web_page_is_a_503_page(embedded):
    """The same for the web UI: signing in writes (session, last login); under a held lock the
    person gets the 503 page (try again), not a 500."""
    import re

    browser = requests.Session()
    login = browser.get(embedded.url("/accounts/login/"), timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    holder = sqlite3.connect(embedded.db, timeout=30, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        r = browser.post(embedded.url("/accounts/login/"), timeout=60, allow_redirects=False, data={
            "csrfmiddlewaretoken": token, "username": "dana", "password": "parley-demo"},
            headers={"Referer": embedded.url("/accounts/login/")})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.status_code == 503, (r.status_code, r.text[:300])
    assert "text/html" in r.headers["Content-Type"] and "Parley is busy" in r.text
    assert r.headers["Retry-After"]


def test_runservers_request_log_never_holds_an_outside_link(embedded):
    """Issue 20: runserver's request lines (the django.server logger) wrote the outside link's
    token in full. Read from the log the embedded server wrote."""
    import secrets

    token = secrets.token_urlsafe(32)
    for path in (f"/o/{token}/", f"/o/{token}/?lang=fr"):
        assert requests.get(embedded.url(path), timeout=60).status_code == 403
    time.sleep(0.5)
    log = embedded.log.read_text(errors="replace")
    assert "/o/[link]/" in log and token not in log, log[-2000:]
