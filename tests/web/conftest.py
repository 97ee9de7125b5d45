from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "parley-demo"


@pytest.fixture(scope="session", autouse=True)
def _compiled_messages():
    """The French catalogue is compiled at install time (make messages); do it for the tests."""
    po = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)
    from django.utils import translation
    from django.utils.translation import trans_real

    trans_real._translations = {}
    trans_real._default = None
    translation.deactivate()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Playwright's sync API runs an event loop in the test thread; the ORM calls a browser test
    makes itself (seeding, services, the database flush at teardown) are still synchronous and
    safe there. Allow them for browser tests only, from setup to teardown."""
    if item.get_closest_marker("browser") is None:
        yield
        return
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def seeded(transactional_db):
    """Transactional tests flush the tables: seed the demo data again."""
    from workflows.demo import seed_demo

    seed_demo(password=PASSWORD)
    from tests.conftest import Demo

    return Demo()


@pytest.fixture
def embedded(settings):
    """Embedded mode: the outbox relay runs in-process after commit (log adapter publishes)."""
    settings.CELERY_BROKER_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PUBLISH_LOG_PATH = str(ROOT / "var" / "test-publications.log")
    return settings


@pytest.fixture
def citizen_message(demo):
    from workflows.services.inbound import inbound_ingest

    def make(text="When does the office open on Monday?", channel="dpe-en", external_id="m1", language=None):
        msg, _ = inbound_ingest(by=demo.dana, channel=channel, external_id=external_id, author="@citizen",
                                text=text, language=language)
        return msg

    return make


@pytest.fixture
def browser_context_args(browser_context_args):
    """axe-core is injected as an inline script, which the Content-Security-Policy blocks: the
    behaviour and accessibility tests bypass the policy; tests/web/test_browser_csp.py runs
    under it (and overrides this)."""
    return {**browser_context_args, "bypass_csp": True}
