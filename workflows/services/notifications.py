"""Notifications: emails to the people a post is waiting on (in each recipient's language),
signed webhooks to integrations, SLA reminders and escalations. Triggered by relayed outbox
events; every handler runs under the event's row lock and marks it dispatched when done."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import Team, User

from .. import outbound
from ..constants import LaneKind, PostKind, PostState, ReviewKind
from ..models import (
    AuditEvent,
    Decision,
    LaneStep,
    OutboxEvent,
    Post,
    PostReview,
    ReplyDelivery,
    WebhookSubscription,
)
from ..topics import Topic
from .audit import audit_record
from .delivery import backoff_seconds
from .inbound_manual import reply_email_gave_up, reply_email_send
from .outbox import outbox_emit
from .reviews import review_open_spot_check

log = logging.getLogger("parley.notifications")

#: topic → email template (workflows/templates/workflows/email/<name>.txt)
EMAIL_TOPICS = {
    "post.step_entered": "step_entered",
    "post.sla_reminder": "sla_reminder",
    "post.sla_overdue": "sla_overdue",
    "post.changes_requested": "changes_requested",
    "post.rejected": "rejected",
    "post.published": "published",
    "post.failed": "failed",
    "post.partially_published": "partially_published",
    "review.opened": "review_opened",
}


class DeliveryFailed(Exception):
    pass


def team_members(team_id: int | None) -> list[User]:
    if not team_id:
        return []
    team = Team.objects.filter(id=team_id).only("group_id").first()
    if team is None:
        return []
    return list(User.objects.filter(groups=team.group_id, is_active=True).exclude(email="").order_by("id"))


class LocalName:
    """A bilingual name (step, team) that renders in the language active when the e-mail is
    rendered, i.e. the recipient's."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __str__(self) -> str:
        return self.obj.name or ""


def _render(template: str, *, recipient: User, context: dict) -> EmailMessage:
    lang = recipient.preferred_language if recipient.preferred_language in ("en", "fr") else "en"
    with translation.override(lang):
        text = render_to_string(f"workflows/email/{template}.txt", {**context, "recipient": recipient, "lang": lang},
                                using="text")  # plain text: no HTML escaping (config/settings.py)
    first, _, body = text.lstrip().partition("\n")
    subject = first.split(":", 1)[1].strip() if ":" in first else first.strip()
    return EmailMessage(subject=f"[Parley] {subject}", body=body.strip() + "\n", to=[recipient.email],
                        headers={"Content-Language": lang})


def _context(event: OutboxEvent, post: Post) -> tuple[dict, list[User]]:
    """The template context and the recipients for one event."""
    payload = event.payload or {}
    ctx: dict = {
        "post": post,
        "author": post.author.get_full_name() or post.author.username,
        "texts": [(t.language, t.body) for t in post.texts.all()],
    }
    decision = None
    if payload.get("decision_id"):
        decision = Decision.objects.select_related("reviewer").filter(id=payload["decision_id"]).first()
    elif event.topic in ("post.step_entered", "post.sla_reminder", "post.sla_overdue"):
        # The previous reviewer's comment travels with the post to the next step.
        decision = (Decision.objects.select_related("reviewer").filter(post_id=post.id).exclude(comment="")
                    .order_by("-created_at", "-id").first())
    if decision is not None:
        ctx["comment"] = decision.comment
        ctx["comment_by"] = decision.reviewer.get_full_name() or decision.reviewer.username
    step = None
    if payload.get("step_id"):
        step = LaneStep.objects.select_related("team", "escalation_team", "lane__retrospective_team").filter(
            id=payload["step_id"]).first()
    if step is not None:
        # Rendered later, in the recipient's language: pass the names, not a string of one language.
        ctx["step"] = LocalName(step)
        ctx["team"] = LocalName(step.team)
        # Still at that step: its due time is known (the step may be long past when relayed late).
        at_step = event.topic == "post.step_entered" and post.current_step_id == step.id
        entered = post.step_entered_at if at_step else None
        if payload.get("entered_at"):
            from django.utils.dateparse import parse_datetime

            entered = parse_datetime(payload["entered_at"])
        ctx["due_at"] = entered + step.sla if entered else None
    if event.topic in ("post.published", "post.failed", "post.partially_published"):
        ctx["publications"] = list(post.publications.select_related("channel"))
        # A reply that went back by e-mail or call-back: say that, not "live".
        ctx["delivery"] = ReplyDelivery.objects.filter(post_id=post.id).first() if post.in_reply_to_id else None
    if event.topic == "review.opened":
        review = PostReview.objects.filter(post_id=post.id, kind=payload.get("kind")).first()
        ctx.update(review_kind=payload.get("kind"), due_at=review.due_at if review else None,
                   urgent_reason=post.urgent_reason)
        excluded = set(review.excluded_users or []) | {post.author_id} if review else {post.author_id}
        return ctx, [u for u in team_members(review.team_id if review else None) if u.id not in excluded]
    if event.topic in ("post.step_entered", "post.sla_reminder"):
        recipients = team_members(step.team_id if step else payload.get("team_id"))
        recipients = [u for u in recipients if u.id != post.author_id]
    elif event.topic == "post.sla_overdue":
        team = (step.escalation_team_id or step.lane.retrospective_team_id) if step else None
        recipients = team_members(team)
    else:
        recipients = [post.author] if post.author.email and post.author.is_active else []
    return ctx, recipients


def emails_for(event: OutboxEvent) -> list[EmailMessage]:
    template = EMAIL_TOPICS.get(event.topic)
    if template is None or not event.post_id:
        return []
    post = Post.objects.select_related("author").prefetch_related("texts").filter(id=event.post_id).first()
    if post is None:
        return []
    ctx, recipients = _context(event, post)
    return [_render(template, recipient=u, context=ctx) for u in recipients]


def webhook_body(event: OutboxEvent) -> bytes:
    return json.dumps({
        "id": event.id, "topic": event.topic, "organisation_id": event.organisation_id,
        "post_id": event.post_id, "created_at": event.created_at.isoformat(), "payload": event.payload,
    }, sort_keys=True, separators=(",", ":")).encode()


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_deliver(delivery: OutboxEvent) -> None:
    """POST the parent event to the subscription, signed. Raises DeliveryFailed to retry."""
    sub = WebhookSubscription.objects.filter(id=delivery.payload.get("subscription_id"), is_active=True).first()
    event = OutboxEvent.objects.filter(id=delivery.payload.get("event_id")).first()
    if sub is None or event is None:
        return  # unsubscribed meanwhile: nothing to deliver
    body = webhook_body(event)
    headers = {
        "Content-Type": "application/json", "User-Agent": "Parley-Webhooks",
        "X-Parley-Event": event.topic, "X-Parley-Delivery": f"{event.id}-{sub.id}",
        "Idempotency-Key": f"parley-event-{event.id}-sub-{sub.id}",
        "X-Parley-Signature": webhook_signature(sub.secret, body),
    }
    try:
        # The outbound door: the SSRF guard is checked at connect time (DNS rebinding included).
        resp = outbound.requests_session(f"webhook:{sub.id}").post(
            sub.url, data=body, headers=headers, timeout=settings.PUBLISH_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise DeliveryFailed(str(outbound.classify_requests_error(exc))) from exc
    except outbound.OutboundRefused as exc:
        raise DeliveryFailed(str(exc)) from exc
    if resp.status_code >= 300:
        raise DeliveryFailed(f"HTTP {resp.status_code}")


def event_notify(*, event_id: int) -> str:
    """Send the emails or the webhook delivery of one event, once; on failure, due again after
    a backoff, and given up (dispatched with the error kept) after OUTBOX_MAX_ATTEMPTS."""
    with transaction.atomic():
        event = (OutboxEvent.objects.select_for_update(skip_locked=True)
                 .filter(id=event_id, dispatched_at__isnull=True).first())
        if event is None:
            return "skipped"
        now = timezone.now()
        try:
            if event.topic == Topic.WEBHOOK_DELIVER:
                webhook_deliver(event)
                done = "webhook"
            elif event.topic == Topic.REPLY_EMAIL:
                # The citizen's e-mail: sent once under this event's row lock (inbound_manual).
                done = reply_email_send(delivery_id=int(event.payload.get("delivery_id") or 0))
            else:
                messages = emails_for(event)
                if messages:
                    get_connection().send_messages(messages)
                done = f"emails:{len(messages)}"
        except Exception as exc:  # noqa: BLE001 - SMTP or HTTP failure: retry later
            failures = int(event.payload.get("failures", 0)) + 1
            event.payload = {**event.payload, "failures": failures}
            event.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            if failures >= settings.OUTBOX_MAX_ATTEMPTS:
                event.dispatched_at = now
                event.last_error = f"gave up after {failures} failures: {event.last_error}"[:2000]
                if event.topic == Topic.REPLY_EMAIL:
                    reply_email_gave_up(delivery_id=int(event.payload.get("delivery_id") or 0), error=event.last_error)
            else:
                event.available_at = now + timedelta(seconds=backoff_seconds(failures))
            event.save(update_fields=["payload", "last_error", "dispatched_at", "available_at"])
            log.warning("event %s (%s) failed: %s", event.id, event.topic, event.last_error)
            return "retry"
        event.dispatched_at = now
        event.last_error = ""
        event.save(update_fields=["dispatched_at", "last_error"])
        return done


def _already(topic: str, post_id: int, step_id: int, entered_iso: str) -> bool:
    """The audit trail (append-only, never pruned) records each reminder and escalation."""
    return AuditEvent.objects.filter(post_id=post_id, verb=topic.split(".", 1)[1], data__step_id=step_id,
                                     data__entered_at=entered_iso).exists()


def sla_sweep(*, now: datetime | None = None) -> dict:
    """Remind a step's team before the step is due (after SLA_REMINDER_FRACTION of it) and
    escalate when overdue (to the step's escalation team, else the lane's retrospective team).
    Each is sent once per step visit: the audit event is the record, checked under the post's
    row lock. Returns counts."""
    now = now or timezone.now()
    counts = {"reminders": 0, "escalations": 0}
    candidates = list(Post.objects.filter(state=PostState.IN_REVIEW, current_step__isnull=False,
                                          step_entered_at__isnull=False).values_list("id", flat=True)[:1000])
    for post_id in candidates:
        with transaction.atomic():
            post = (Post.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("current_step").filter(id=post_id, state=PostState.IN_REVIEW).first())
            if post is None or post.current_step is None or post.step_entered_at is None:
                continue
            step = post.current_step
            due = post.step_entered_at + step.sla
            remind_at = post.step_entered_at + step.sla * settings.SLA_REMINDER_FRACTION
            entered = post.step_entered_at.isoformat()
            topic = None
            if now >= due and not _already("post.sla_overdue", post.id, step.id, entered):
                topic, key = Topic.POST_SLA_OVERDUE, "escalations"
            elif remind_at <= now < due and not _already("post.sla_reminder", post.id, step.id, entered):
                topic, key = Topic.POST_SLA_REMINDER, "reminders"
            if topic is None:
                continue
            payload = {"post_id": post.id, "step_id": step.id, "entered_at": entered, "due_at": due.isoformat()}
            audit_record(owner=post, verb=topic.split(".", 1)[1], from_state=post.state, to_state=post.state,
                         data=payload)
            outbox_emit(topic=topic, organisation_id=post.organisation_id, post_id=post.id, payload=payload)
            post.save(update_fields=["audit_seq", "audit_head"])
            counts[key] += 1
    return counts


def spot_check_sampled(post_id: int, rate: Any) -> bool:
    """Deterministic: the same post is always in or out of the sample for a given rate."""
    digest = hashlib.sha256(f"parley-spot-check:{post_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < float(rate)


def spot_check_sample(*, now: datetime | None = None) -> list[int]:
    """Open a spot-check review for the lane's spot_check_rate share of conversation replies
    published within SPOT_CHECK_WINDOW_DAYS. Re-running never resamples. Returns the post ids."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.SPOT_CHECK_WINDOW_DAYS)
    rows = (Post.objects.filter(state=PostState.PUBLISHED, kind=PostKind.REPLY, lane__kind=LaneKind.CONVERSATION,
                                lane__spot_check_rate__gt=0, published_at__gte=since)
            .exclude(reviews__kind=ReviewKind.SPOT_CHECK)
            .values_list("id", "lane__spot_check_rate")[:5000])
    opened = []
    for post_id, rate in rows:
        if spot_check_sampled(post_id, rate) and review_open_spot_check(post_id=post_id) is not None:
            opened.append(post_id)
    return opened


