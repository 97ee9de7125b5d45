"""Issue 20 item 6: guessable SECRET_KEY / AUDIT_HMAC_KEY values are refused in production, not
only short ones: `check --deploy` fails (parley.E102, parley.E103) and gunicorn does not start.

A generator makes weak keys of every class people use (words and digits, a phrase repeated,
one character or a short pattern repeated, runs along the keyboard or the alphabet, years,
"changeme"), each long enough and varied enough to pass Django's own definition (50 characters,
5 distinct) — so on the code before issue 20 every one of them was accepted."""
from __future__ import annotations

import itertools
import secrets
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.keys import MIN_BITS, WORDS, estimate_bits, key_weakness

from .server import BIN, ROOT, dockerfile_cmd, free_port, server_env

SEPARATORS = st.sampled_from(["-", "_", ".", "", " "])
COMMON = [w for w in WORDS if len(w) >= 4]


@st.composite
def weak_keys(draw) -> str:
    kind = draw(st.sampled_from(["words", "repeat", "runs", "phrase"]))
    if kind == "words":  # dictionary words, digits and a year
        sep = draw(SEPARATORS)
        parts = draw(st.lists(st.sampled_from(COMMON), min_size=5, max_size=9))
        parts = [draw(st.sampled_from([p, p.capitalize(), p.upper()])) for p in parts]
        parts.append(draw(st.sampled_from(["2024", "2025", "2026", "123", "1234", "0123456789", "!", "42"])))
        key = sep.join(parts)
    elif kind == "repeat":  # a short pattern, repeated
        unit = "".join(draw(st.lists(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789!@#-_ABCXYZ"),
                                     min_size=5, max_size=10, unique=True)))
        key = unit * (60 // len(unit) + 1)
    elif kind == "runs":  # along the keyboard, the alphabet, the digits
        runs = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghij", "0123456789", "9876543210", "azertyuiop",
                "ABCDEFGHIJ", "!@#$%^&*()"]
        key = "".join(draw(st.lists(st.sampled_from(runs), min_size=6, max_size=9)))
    else:  # a memorable phrase, twice
        phrase = draw(SEPARATORS).join(draw(st.lists(st.sampled_from(COMMON), min_size=3, max_size=5)))
        key = f"{phrase}-{draw(st.integers(0, 9999))}-{phrase}"
    while len(key) < 52:
        key += key
    return key


@given(key=weak_keys())
@settings(max_examples=300, deadline=None, derandomize=True)
def test_every_generated_weak_key_is_refused_though_djangos_own_rule_passes_it(key):
    assert len(key) >= 50 and len(set(key)) >= 5  # Django's definition (W009) would let it through
    assert key_weakness("SECRET_KEY", key) and key_weakness("AUDIT_HMAC_KEY", key), (key, estimate_bits(key))


def test_random_keys_of_the_recommended_sizes_pass_with_a_margin():
    keys = [secrets.token_urlsafe(50) for _ in range(300)] + [secrets.token_hex(32) for _ in range(300)]
    scores = [estimate_bits(k) for k in keys]
    assert min(scores) > MIN_BITS * 1.4, min(scores)
    assert not any(key_weakness("SECRET_KEY", k) for k in keys)
    # the keys the Makefile's lint target uses
    assert not key_weakness("SECRET_KEY", "lint-only-Dummy-secret-4f9c2a7b-e1d8-4c3a-9b6f-0a2e5d7c1b93-Kq8Zx")
    assert not key_weakness("AUDIT_HMAC_KEY", "lint-only-audit-key-7d3f9a1c-52be-4e80-b6a9-c41f0e8d2a67")


NAMED = ["my-company-production-secret-key-2026-do-not-share-ok",
         "changeme-changeme-changeme-changeme-changeme-changeme",
         "Password123!Password123!Password123!Password123!Pass",
         "qwertyuiopasdfghjklzxcvbnm1234567890qwertyuiopasdfghjkl"]


def _deploy_check(**env) -> subprocess.CompletedProcess:
    base = server_env(DEBUG="false", ALLOWED_HOSTS="parley.example.gc.ca", SECRET_KEY=secrets.token_urlsafe(50),
                      AUDIT_HMAC_KEY=secrets.token_urlsafe(48))
    base.update(env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("name", "code"), [("AUDIT_HMAC_KEY", "parley.E102"), ("SECRET_KEY", "parley.E103")])
def test_deploy_check_fails_on_a_guessable_key(name, code):
    for key in NAMED[:2]:
        result = _deploy_check(**{name: key})
        assert result.returncode != 0 and code in result.stdout + result.stderr, result.stdout + result.stderr
    assert _deploy_check().returncode == 0


def test_gunicorn_refuses_to_start_on_a_guessable_key():
    cmd = dockerfile_cmd()
    for name, key in itertools.product(("SECRET_KEY", "AUDIT_HMAC_KEY"), NAMED[2:3]):
        env = server_env(DEBUG="false", ALLOWED_HOSTS="127.0.0.1", SECRET_KEY=secrets.token_urlsafe(50),
                         AUDIT_HMAC_KEY=secrets.token_urlsafe(48), HOST="127.0.0.1", PORT=str(free_port()),
                         WEB_CONCURRENCY="1", GUNICORN_THREADS="1")
        env[name] = key
        result = subprocess.run([str(BIN / "gunicorn"), *cmd[1:]], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output[-3000:]
        assert f"Refusing to start: {name} is guessable" in output, output[-3000:]
