"""The relay wakes when a transaction that wrote outbox rows commits (PostgreSQL NOTIFY heard by a
LISTEN thread in the worker); beat is only the safety net."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import transaction

from workflows.constants import PostState
from workflows.models import OutboxEvent, Post
from workflows.relay_listener import listen_forever

from . import flows
from .conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listener():
    """listen_forever in a thread, counting wakes (its first call is the relay-on-connect)."""
    wakes: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=listen_forever, args=(stop,),
                              kwargs={"timeout": 0.2, "on_wake": lambda: wakes.append(time.monotonic())},
                              daemon=True)
    thread.start()
    wait_for(lambda: wakes, timeout=10, what="the listener to connect")
    yield wakes
    stop.set()
    thread.join(timeout=5)


def test_commit_that_wrote_outbox_rows_wakes_the_listener_and_rollback_does_not(listener):
    base = len(listener)
    with transaction.atomic():
        OutboxEvent.objects.create(topic="test.rolled_back")
        transaction.set_rollback(True)
    time.sleep(0.6)
    assert len(listener) == base  # nothing committed: no wake
    with transaction.atomic():
        OutboxEvent.objects.create(topic="test.one")
        OutboxEvent.objects.bulk_create([OutboxEvent(topic="test.many") for _ in range(5)])
        time.sleep(0.4)
        assert len(listener) == base  # not before the commit
    wait_for(lambda: len(listener) > base, timeout=5, what="a wake after the commit")
    time.sleep(0.4)
    assert len(listener) == base + 1  # one wake for the whole transaction


def test_reply_is_published_without_waiting_for_beat(webhook_channels, platform, demo, start_worker):
    # Beat would relay only once a minute: the reply is sent because the commit woke the relay.
    start_worker(extra_env={"OUTBOX_RELAY_INTERVAL": "60", "PUBLISH_SWEEP_INTERVAL": "60"})
    time.sleep(1.0)  # let the worker's listener connect
    post = flows.reply(demo)
    wait_for(lambda: Post.objects.get(id=post.id).state == PostState.PUBLISHED, timeout=20,
             what="the reply to be published well before beat's first relay tick")
    assert len(platform.posts()) == 1


def test_without_the_listener_beat_still_relays(webhook_channels, platform, demo, start_worker):
    start_worker(extra_env={"OUTBOX_LISTEN": "false"})
    post = flows.reply(demo)
    wait_for(lambda: Post.objects.get(id=post.id).state == PostState.PUBLISHED, timeout=20,
             what="the beat relay (safety net) to publish the reply")
