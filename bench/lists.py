"""List endpoints and pages at scale: p50/p95 and statement counts (Django test client, in-process).

The process's garbage collector is set up as a gunicorn worker's is (config/gunicorn.py,
gc_tune: start-up objects frozen, young threshold 10,000) once every path has been requested
once; BENCH_GC=default keeps CPython's defaults (how rounds 1–3 measured)."""
from __future__ import annotations

import os
import statistics
import time

from django.db import connection
from django.test import Client

PATHS = [
    ("API GET /api/v1/queue/", "rami", "/api/v1/queue/"),
    ("API GET /api/v1/posts/", "dana", "/api/v1/posts/"),
    ("API GET /api/v1/inbound/", "dana", "/api/v1/inbound/"),
    ("API GET /api/v1/metrics/", "dana", "/api/v1/metrics/"),
    ("page /queue/", "rami", "/queue/"),
    ("page / (home)", "rami", "/"),
    ("page /inbox/", "dana", "/inbox/"),
    ("page /metrics/", "dana", "/metrics/"),
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def client_for(username: str) -> Client:
    from accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=username))
    return client


def warm(username: str, path: str) -> Client:
    client = client_for(username)
    response = client.get(path, secure=True)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return client


def measure(label: str, username: str, path: str, *, runs: int = 20, client: Client | None = None) -> dict:
    client = client or warm(username, path)
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(path, secure=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(path, secure=True)
        times.append((time.perf_counter() - t0) * 1000)
    return {"what": label, "p50_ms": statistics.median(times), "p95_ms": pct(times, 0.95),
            "statements": len(statements), "sql": statements, "bytes": len(response.content)}


def run_all(runs: int = 20) -> list[dict]:
    clients = [warm(user, path) for _label, user, path in PATHS]
    if os.environ.get("BENCH_GC", "production") != "default":
        from config.gunicorn import gc_tune

        gc_tune()
    return [measure(label, user, path, runs=runs, client=client)
            for (label, user, path), client in zip(PATHS, clients, strict=True)]
