"""Liveness and readiness probes for load balancers and orchestrators."""
from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """The process is alive and serving requests; checks nothing else."""
    return JsonResponse({"status": "ok"})


def check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker() -> dict:
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"ok": True, "mode": "embedded"}
    if not url.startswith(("redis://", "rediss://")):
        return {"ok": True, "mode": "unchecked"}
    import redis

    started = time.monotonic()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


#: Extra readiness checks, name -> callable returning {"ok": bool, ...}. Other parts of Parley
#: (the outbox relay) register theirs here.
EXTRA_CHECKS: dict = {}


@never_cache
@require_GET
def readyz(request):
    """Ready when the database and the broker answer. 503 with the failing part named."""
    checks = {"database": check_database(), "broker": check_broker()}
    for name, check in EXTRA_CHECKS.items():
        checks[name] = check()
    ready = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )
