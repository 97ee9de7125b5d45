"""Production refuses a weak SECRET_KEY (Django's definition: fewer than 50 characters, fewer
than 5 different ones, or the django-insecure- prefix) with a message that says how to fix it;
the runtime lock ships no test or lint tool."""
from __future__ import annotations

import re
import secrets
import subprocess
import sys

import pytest

from .server import ROOT, server_env


def _start(env_overrides):
    return subprocess.run([sys.executable, "-c", "import config.settings"], cwd=ROOT,
                          env=server_env(**env_overrides), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("key", [
    "x" * 60,                                   # long, one character
    "abcd" * 20,                                # long, four different characters
    secrets.token_urlsafe(30),                  # random but 40 characters
    "django-insecure-" + secrets.token_urlsafe(50),
])
def test_production_refuses_a_weak_secret_key(key):
    result = _start({"DEBUG": "false", "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY is too weak for production" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_production_starts_with_a_strong_key_and_debug_with_a_weak_one():
    assert _start({"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50)}).returncode == 0
    assert _start({"DEBUG": "true", "SECRET_KEY": "short"}).returncode == 0


def _packages(lock: str) -> set[str]:
    text = (ROOT / lock).read_text()
    return {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


def test_runtime_lock_has_no_dev_tools_and_the_image_installs_only_it():
    runtime, dev = _packages("requirements.lock"), _packages("requirements-dev.lock")
    tools = {"pytest", "pytest-django", "playwright", "pytest-playwright", "mypy", "ruff",
             "hypothesis", "schemathesis", "bandit", "django-stubs"}
    assert not runtime & tools, runtime & tools
    assert tools <= dev
    assert runtime <= dev  # the dev lock is the runtime lock plus the extras, same pins
    assert {"django", "gunicorn", "whitenoise", "psycopg", "django-csp"} <= runtime
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "-r requirements-dev" not in dockerfile and "COPY requirements-dev" not in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements-dev.lock" in makefile


def test_only_the_vendor_files_parley_serves_are_collected():
    """npm packages ship sample CSS with placeholder URLs ("path/to/file/..."): not collected."""
    from django.contrib.staticfiles import finders

    assert finders.find("gcds-fonts/fonts/noto-sans/gcds-noto-sans.css") is None
    assert finders.find("gcds-fonts/fonts/icons/gcds-icons.css") is None
    assert finders.find("gcds-fonts/package.json") is None
    assert finders.find("gcds-fonts/fonts/noto-sans/gcds-noto-sans-regular.woff2")
    assert finders.find("gcds/gcds.esm.js") and finders.find("htmx/htmx.min.js")
