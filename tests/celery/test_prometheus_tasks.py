"""Celery task metrics reach /prometheus from a real worker (counted in Redis by its signal handlers)."""
from __future__ import annotations

import re

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client

from config.prometheus import TASKS_KEY
from workflows.constants import PostState
from workflows.models import Post

from . import flows
from .conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _handled(text: str) -> float:
    m = re.search(r'parley_celery_tasks_total\{state="SUCCESS",task="parley.handle_event"\} ([0-9.]+)', text)
    return float(m.group(1)) if m else 0.0


def test_worker_task_counts_and_durations_are_exported(webhook_channels, platform, demo, start_worker, settings):
    redis.Redis.from_url(django_settings.REDIS_URL).delete(TASKS_KEY)
    settings.PROMETHEUS_TOKEN = "scrape"
    start_worker()
    post = flows.reply(demo)
    wait_for(lambda: Post.objects.get(id=post.id).state == PostState.PUBLISHED, timeout=20, what="publication")
    scrape = Client()
    text = wait_for(lambda: (t := scrape.get("/prometheus", HTTP_AUTHORIZATION="Bearer scrape").content.decode())
                    and _handled(t) >= 1 and t, timeout=20, what="task metrics")
    assert 'parley_celery_task_duration_seconds_count{task="parley.handle_event"}' in text
    assert 'parley_posts{state="published"}' in text
