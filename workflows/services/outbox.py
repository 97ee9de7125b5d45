"""Events written in the same transaction as the change that caused them."""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from ..models import OutboxEvent
from ..topics import Topic

#: Runs one relay batch in this process (the embedded default, no broker). Registered at app
#: start (WorkflowsConfig.ready(): `relay.relay_outbox`) rather than imported, because the
#: relay imports the services that emit events: importing it here would close a circle.
_relay_in_process_fn: Callable[[], object] | None = None


def outbox_register_relay(fn: Callable[[], object] | None) -> None:
    """Set the function that relays in-process after commit when no broker is configured."""
    global _relay_in_process_fn
    _relay_in_process_fn = fn


def outbox_emit(*, topic: Topic | str, organisation_id: int | None, post_id: int | None = None,
                payload: dict | None = None) -> OutboxEvent:
    """Write an OutboxEvent in the caller's transaction. Never talks to the broker.

    `topic` must be a member of workflows.topics.Topic (ValueError otherwise: every emitted
    topic is subscribable). The relay (beat, `relay_outbox`) dispatches it after commit; in the
    embedded default (no broker) the relay runs in-process right after this transaction commits."""
    event = outbox_event(topic=topic, organisation_id=organisation_id, post_id=post_id, payload=payload)
    event.save(force_insert=True)
    outbox_written()
    return event


def outbox_event(*, topic: Topic | str, organisation_id: int | None, post_id: int | None = None,
                 payload: dict | None = None) -> OutboxEvent:
    """The event outbox_emit writes, not written yet: its caller writes it in its transaction
    (engine.write_pending) and then calls outbox_written()."""
    return OutboxEvent(topic=Topic(topic).value, organisation_id=organisation_id, post_id=post_id,
                       payload=payload or {})


def outbox_written() -> None:
    """After writing outbox events: in the embedded default (no broker) the relay runs in-process
    right after the transaction commits."""
    if not settings.CELERY_BROKER_URL:
        transaction.on_commit(_relay_in_process, robust=True)


def _relay_in_process() -> None:
    if _relay_in_process_fn is not None:
        _relay_in_process_fn()
