"""Production mode is a tested path: static files built with DEBUG=false by the image's own
script, gunicorn started with the image's own command line on a migrated PostgreSQL database,
and the pages a person reaches first answer 200 (or the app's own 404), never 500.

One build and one gunicorn for the whole module."""
from __future__ import annotations

import re
import secrets
import time
from urllib.parse import quote, urljoin

import pytest
import requests

from .server import BIN, ROOT, Server, dockerfile_cmd, free_port, run, server_env

# As behind the TLS proxy: SECURE_SSL_REDIRECT stays on (the production default) and gunicorn
# trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS' default).
HTTPS = {"X-Forwarded-Proto": "https"}
HASHED = r"\.[0-9a-f]{12}\."
TIMINGS: dict[str, float] = {}
# The tests touch no data themselves; the mark makes pytest-django create the test database.
pytestmark = pytest.mark.django_db


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def production(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build as docker/Dockerfile does, then start its CMD; the test database is migrated
    (and seeded) by pytest-django's session setup."""
    started = time.monotonic()
    static_root = tmp_path_factory.mktemp("staticfiles")
    build = server_env(PYTHON=str(BIN / "python"), STATIC_ROOT=str(static_root))
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "RUN sh docker/build-static.sh" in dockerfile
    run(["sh", "docker/build-static.sh"], build)
    TIMINGS["build"] = time.monotonic() - started
    assert (static_root / "staticfiles.json").exists()

    cmd = dockerfile_cmd()
    assert cmd[0] == "gunicorn"
    port = free_port()
    env = server_env(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(static_root), DATABASE_URL=_database_url(), HOST="127.0.0.1",
        PORT=str(port), WEB_CONCURRENCY="1", GUNICORN_THREADS="4",
    )
    server = Server([str(BIN / "gunicorn"), *cmd[1:]], env, port, static_root.parent / "gunicorn.log")
    TIMINGS["ready"] = time.monotonic() - started
    yield server
    server.stop()
    log = server.output()
    assert "Traceback" not in log, log


def get(server, path, **kwargs):
    kwargs.setdefault("allow_redirects", False)
    return requests.get(urljoin(server.url("/"), path), headers=HTTPS, timeout=30, **kwargs)


def test_procfile_and_compose_use_the_image_command():
    cmd = dockerfile_cmd()
    procfile = (ROOT / "Procfile").read_text()
    assert re.search(r"^web: \.venv/bin/" + re.escape(" ".join(cmd)) + r"\s*$", procfile, re.M), procfile
    compose = (ROOT / "docker" / "compose.yaml").read_text()
    assert "gunicorn" not in compose  # the web service runs the image's CMD


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/docs/"])
def test_first_pages_answer_200(production, path):
    r = get(production, path)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("text/html")
    assert "max-age=" in r.headers["Strict-Transport-Security"]
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in r.headers["Permissions-Policy"]
    assert "Secure" in r.headers.get("Set-Cookie", "Secure")  # cookies only over HTTPS


def test_plain_http_is_redirected_to_https(production):
    r = requests.get(production.url("/accounts/login/"), allow_redirects=False, timeout=30)
    assert r.status_code == 301 and r.headers["Location"].startswith("https://")


def test_not_found_is_the_apps_own_page(production):
    r = get(production, "/no-such-page/")
    assert r.status_code == 404
    assert "text/html" in r.headers["Content-Type"]
    assert "We couldn&#x27;t find that page" in r.text or "We couldn't find that page" in r.text
    assert '<gcds-header' in r.text

    api = get(production, "/api/v1/no-such-thing/")
    assert api.status_code == 404
    assert api.headers["Content-Type"].startswith("application/problem+json")
    assert api.json()["status"] == 404


def _asset(server, url: str, kind: str) -> requests.Response:
    assert re.search(HASHED, url), f"{kind} asset is not hashed: {url}"
    r = get(server, url)
    assert r.status_code == 200, (url, r.status_code)
    assert "immutable" in r.headers.get("Cache-Control", ""), (url, r.headers.get("Cache-Control"))
    assert len(r.content) > 100
    return r


def test_hashed_static_assets_of_each_kind(production):
    login = get(production, "/accounts/login/").text
    css = re.findall(r'href="(/static/[^"]+\.css)"', login)
    js = re.findall(r'src="(/static/[^"]+\.js)"', login)
    assert any("css/parley." in u for u in css), css
    assert {"gcds/gcds.esm", "htmx/htmx.min", "js/parley"} <= {u.split("/static/")[1].rsplit(".", 2)[0] for u in js}, js
    for url in css:
        _asset(production, url, "CSS")
    for url in js:
        r = _asset(production, url, "JS")
        assert "javascript" in r.headers["Content-Type"]

    # Fonts: the ones parley.css declares (rewritten to hashed names by the manifest storage)
    parley_css_url = next(u for u in css if "css/parley." in u)
    parley_css = get(production, parley_css_url).text
    fonts = re.findall(r'url\("?([^")]+\.woff2)"?\)', parley_css)
    assert fonts, parley_css[:500]
    for font in fonts:
        r = _asset(production, urljoin(parley_css_url, font), "font")
        assert r.headers["Content-Type"] == "font/woff2"

    # gcds.css, as this site serves it: no third-party or placeholder URL, its icon font hashed.
    gcds_css = get(production, "/ui/gcds.css")
    assert gcds_css.status_code == 200
    assert "path/to" not in gcds_css.text and "cdn.design-system" not in gcds_css.text
    assert "fonts.googleapis" not in gcds_css.text
    icon_fonts = re.findall(r"url\(([^)]+gcds-icons[^)]+)\)", gcds_css.text)
    assert icon_fonts
    for font in icon_fonts:
        _asset(production, font.strip('"'), "font")


def test_api_docs_assets_load(production):
    page = get(production, "/api/docs/").text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert len(scripts) >= 2, page[:1000]
    for src in scripts:
        r = get(production, src)
        assert r.status_code == 200, (src, r.status_code)


#: What the production start may take on a CI runner (shared 2-core machines included): the
#: static build (collectstatic, compression, hashing) and gunicorn answering after it.
BUILD_BUDGET_S = 240
READY_BUDGET_S = 60


def test_readyz_and_timing(production):
    """The production server is ready (database and broker answer, through gunicorn), within
    the start-up budgets, and answers /readyz quickly."""
    started = time.monotonic()
    r = get(production, "/readyz")
    took = time.monotonic() - started
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True and body["checks"]["broker"]["ok"] is True, body
    assert took < 5, f"/readyz took {took:.1f}s"
    assert TIMINGS["build"] < BUILD_BUDGET_S, f"production build took {TIMINGS['build']:.1f}s"
    assert TIMINGS["ready"] - TIMINGS["build"] < READY_BUDGET_S, (
        f"gunicorn ready {TIMINGS['ready'] - TIMINGS['build']:.1f}s after the build")


def test_the_design_system_hydrates_in_production_mode(production):
    """Real Chromium on the production server: hashed static files, the components' lazily
    imported chunks, the fonts, all load (no 4xx), under the CSP (no violation), and the GC
    Design System's header hydrates."""
    import os

    from playwright.sync_api import sync_playwright

    from tests.web.test_browser_csp import LISTEN

    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            context = browser.new_context(extra_http_headers=HTTPS)
            page = context.new_page()
            page.add_init_script(LISTEN)
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("console", lambda m: failed.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(production.url("/accounts/login/"))
            page.wait_for_load_state("networkidle")
            page.wait_for_function("document.querySelector('gcds-header').classList.contains('hydrated')")
            assert page.evaluate("document.querySelector('gcds-header').shadowRoot !== null")
            # parley.css's @font-face (hashed URL) loads the design system's heading font
            assert page.evaluate("document.fonts.load('700 16px Lato').then(faces => faces.length)") >= 1
            failed.extend(page.evaluate("window.__csp"))
        finally:
            browser.close()
    assert failed == [], failed


def test_the_access_log_never_holds_an_outside_link(production):
    """Issue 20: the outside link's token was written in full to gunicorn's access log. Each
    spelling a client may send (plain, with a query, percent-encoded, as a Referer) is redacted;
    the log is read from the file gunicorn wrote."""
    token = secrets.token_urlsafe(32)
    encoded = "".join(f"%{ord(c):02X}" if i % 5 == 0 else c for i, c in enumerate(token))
    for path in (f"/o/{token}/", f"/o/{token}/?lang=fr", f"/o/{encoded}/", f"/o/{token}"):
        r = requests.get(production.url(path), headers={**HTTPS, "Referer": f"https://x.example/o/{token}/"},
                         allow_redirects=False, timeout=30)
        assert r.status_code in (301, 403, 429), (path, r.status_code)
    time.sleep(0.5)
    log = production.log.read_text(errors="replace")
    assert "/o/[link]/" in log
    assert token not in log and encoded not in log and token[:20] not in log


def test_a_rotated_x_forwarded_for_does_not_escape_the_anonymous_throttle(production):
    """Issue 20: 130 anonymous requests, each with a new X-Forwarded-For, got no 429. With
    NUM_PROXIES=0 (the default) the throttle counts REMOTE_ADDR only."""
    from django.core.cache import cache

    try:
        codes = [requests.get(production.url("/api/v1/lanes/"), timeout=30, allow_redirects=False,
                              headers={**HTTPS, "X-Forwarded-For": f"203.0.113.{i % 250}"}).status_code
                 for i in range(130)]
        assert codes.count(429) >= 10, codes
    finally:
        cache.delete_many(["throttle_anon_127.0.0.1", "throttle_user_127.0.0.1"])
