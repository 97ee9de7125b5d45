"""The reference for `make bench`: a bare Celery hop — `.delay()` → worker → one HTTP POST."""
from __future__ import annotations

import requests
from celery import shared_task


@shared_task(name="parley.bench_hop", ignore_result=True)
def bench_hop(url: str, key: str) -> None:
    requests.post(url, data=b"{}", headers={"Content-Type": "application/json", "Idempotency-Key": key}, timeout=10)
