"""Event topics: the one vocabulary of what the outbox emits (Saleor's WebhookEventAsyncType).

Every `outbox_emit(topic=...)` names a member of `Topic` (outbox_emit refuses any other
string), and webhooks may subscribe to every topic except the internal ones
(`SUBSCRIBABLE`). tests/workflows/test_topics.py checks that the emitted set equals the
subscribable set, so a new event cannot be emitted without webhooks being able to hear it.
"""
from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    POST_CREATED = "post.created"
    POST_ESCALATED = "post.escalated"
    POST_STEP_ENTERED = "post.step_entered"
    POST_APPROVED = "post.approved"
    POST_CHANGES_REQUESTED = "post.changes_requested"
    POST_REJECTED = "post.rejected"
    POST_WITHDRAWN = "post.withdrawn"
    POST_PUBLISH = "post.publish"
    POST_PUBLISHED = "post.published"
    POST_FAILED = "post.failed"
    POST_HELD = "post.held"
    POST_PARTIALLY_PUBLISHED = "post.partially_published"
    POST_RETRACTED = "post.retracted"
    POST_SLA_REMINDER = "post.sla_reminder"
    POST_SLA_OVERDUE = "post.sla_overdue"
    REVIEW_OPENED = "review.opened"
    REVIEW_CONCERN = "review.concern"
    INBOUND_RECEIVED = "inbound.received"
    INBOUND_ENGAGED = "inbound.engaged"
    CARETAKER_CREATED = "caretaker.created"
    #: A reply to a message received by e-mail is to be e-mailed (payload: ids, never the address).
    REPLY_EMAIL = "reply.email"
    #: A reply to a message received by phone waits for a person to call back.
    REPLY_CALLBACK = "reply.callback"
    #: One delivery of one event to one webhook subscription (created by the relay).
    WEBHOOK_DELIVER = "webhook.deliver"


#: Topics never delivered to webhook subscriptions.
INTERNAL = frozenset({Topic.WEBHOOK_DELIVER})
#: What a webhook subscription may list in `events` (every emitted topic), in declaration order.
SUBSCRIBABLE: tuple[str, ...] = tuple(t.value for t in Topic if t not in INTERNAL)
#: Topics that start or resume publishing; handled on the `publish` queue.
PUBLISH = frozenset({Topic.POST_APPROVED, Topic.POST_PUBLISH})
