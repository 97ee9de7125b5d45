"""Every `make bench*` harness runs in CI in a quick mode, so a harness that no longer runs fails
the build (issue 23: `make bench-listen` had rotted — its channels named a `token_env` without the
`PARLEY_SECRET_` prefix the hardening requires, and every one was refused). The full runs stay
manual; these only prove each harness still runs end to end and prints its figures. Each harness
creates and drops its own throwaway database, named after this run's."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _run(script: str, **env: str) -> str:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("the benchmarks measure PostgreSQL")
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley")
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url,
            "BENCH_APPEND": "0", "BENCH_QUICK": "1", **env}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script)], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_bench_listen_runs_and_every_channel_polls():
    out = _run("listen.py", BENCH_CHANNELS="20", BENCH_POLLERS="2")
    assert "listening, 20 Mastodon channels" in out
    assert "channels with an error: 0" in out


def test_bench_atip_export_runs():
    out = _run("atip_export.py", BENCH_ATIP_POSTS="40")
    assert "chains verified: True" in out, out[-2000:]


def test_bench_media_runs_and_prints_the_ratio():
    out = _run("media.py")
    assert "media intake" in out and "ratio intake / bare" in out, out[-2000:]
    assert "BENCHMARKS.md left as it was" in out


@pytest.mark.celery
def test_bench_run_quick_mode_prints_its_table(redis_url):
    out = _run("run.py", BENCH_POSTS="300", BENCH_REPLIES="3", BENCH_REPLIES_BEAT="2", BENCH_APPROVES="3",
               BENCH_PUBLICATIONS="20", BENCH_LIST_RUNS="2", BENCH_ONLY="approve,http_approve,lists,reply,publishing")
    assert "BENCHMARKS.md left as it was" in out
    for figure in ("approve", "reply", "publications"):
        assert figure in out.lower(), figure
    # Issue 23: the HTTP approve request beside a bare DRF endpoint running the floor transaction,
    # with figures, a ratio and the target verdict; statements counted for both requests.
    ms = r"[\d,.]+ ms"
    timing = re.search(rf"\| HTTP approve, POST /api/v1/posts/{{id}}/approve/ with its [\d.]+ KB response \| p50 {ms}, "
                       rf"p95 {ms} \| bare DRF floor \(same token, auth, permissions\): p50 {ms}, p95 {ms} \| "
                       r"([\d.]+)× the bare DRF floor \(p50\) \| HTTP approve ≤ 3× the bare DRF floor: (✅|❌) \|", out)
    assert timing, out[-4000:]
    assert float(timing.group(1)) > 0
    counted = re.search(r"\| HTTP approve, SQL statements [^|]*\| (\d+) \| bare DRF floor (\d+) \|", out)
    assert counted, out[-4000:]
    http, floor = int(counted.group(1)), int(counted.group(2))
    assert 6 <= floor < http <= 12, (http, floor)  # the floor's 6, plus authentication; the pin's 12


def test_bench_media_publish_runs():
    """Issue 22: a post with 4 images beside the same post without media (bench/media_publish.py)."""
    out = _run("media_publish.py", BENCH_MEDIA_POSTS="2")
    assert "Publishing a post with 4 images" in out and "the same post without media" in out, out[-2000:]
