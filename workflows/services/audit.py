"""The append-only, hash-chained audit trail."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from ..models import AuditEvent, InboundMessage, Post


def _canonical(ev: AuditEvent) -> bytes:
    created = ev.created_at.astimezone(UTC) if ev.created_at.tzinfo else ev.created_at
    body = {
        "chain": ev.chain,
        "seq": ev.seq,
        "prev": ev.prev_hash,
        "post": ev.post_id,
        "inbound": ev.inbound_id,
        "org": ev.organisation_id,
        "actor": ev.actor_id,
        "verb": ev.verb,
        "from": ev.from_state,
        "to": ev.to_state,
        "revision": ev.revision,
        "data": ev.data,
        "at": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(ev: AuditEvent) -> str:
    return hashlib.sha256(_canonical(ev)).hexdigest()


def audit_record(
    *,
    owner: Post | InboundMessage,
    verb: str,
    actor=None,
    from_state: str = "",
    to_state: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to `owner`'s chain. The caller holds `owner`'s row lock and saves
    `owner` afterwards (its audit_seq/audit_head move forward in memory here)."""
    is_post = isinstance(owner, Post)
    now = timezone.now()
    ev = AuditEvent(
        chain=f"{'post' if is_post else 'inbound'}:{owner.pk}",
        seq=owner.audit_seq + 1,
        organisation_id=owner.organisation_id,
        post_id=owner.pk if is_post else None,
        inbound_id=None if is_post else owner.pk,
        actor_id=getattr(actor, "pk", None),
        verb=verb,
        from_state=from_state,
        to_state=to_state,
        revision=owner.revision if isinstance(owner, Post) else None,
        data=json.loads(json.dumps(data or {}, default=str)),
        created_at=now,
        prev_hash=owner.audit_head,
    )
    ev.hash = compute_hash(ev)
    pending = owner.__dict__.get("_audit_pending")
    if pending is not None:
        pending.append(ev)  # written by audit_flush, in one INSERT with the others
    else:
        ev.save(force_insert=True)
    owner.audit_seq = ev.seq
    owner.audit_head = ev.hash
    return ev


def audit_defer(owner: Post | InboundMessage) -> None:
    """Collect `owner`'s next audit events in memory; `audit_flush` writes them in one INSERT.
    The chain (seq, prev hash) is computed as they are recorded, exactly as when written one by
    one; the caller holds the owner's row lock and flushes before its transaction commits."""
    owner.__dict__["_audit_pending"] = []


def audit_flush(owner: Post | InboundMessage) -> None:
    pending = owner.__dict__.pop("_audit_pending", None)
    if pending:
        AuditEvent.objects.bulk_create(pending)


@dataclass
class BrokenLink:
    chain: str
    seq: int
    event_id: int
    reason: str


def audit_verify(*, since: datetime | None = None) -> tuple[int, BrokenLink | None]:
    """Walk every chain in order. Return (events checked, first broken link or None)."""
    qs = AuditEvent.objects.order_by("chain", "seq")
    if since is not None:
        chains = AuditEvent.objects.filter(created_at__gte=since).values("chain")
        qs = qs.filter(chain__in=chains)
    checked = 0
    prev: AuditEvent | None = None
    for ev in qs.iterator(chunk_size=2000):
        checked += 1
        if prev is None or prev.chain != ev.chain:
            expected_seq, expected_prev = 1, ""
        else:
            expected_seq, expected_prev = prev.seq + 1, prev.hash
        if ev.seq != expected_seq:
            return checked, BrokenLink(ev.chain, ev.seq, ev.id, f"sequence gap: expected {expected_seq}")
        if ev.prev_hash != expected_prev:
            return checked, BrokenLink(ev.chain, ev.seq, ev.id, "previous hash does not match")
        if compute_hash(ev) != ev.hash:
            return checked, BrokenLink(ev.chain, ev.seq, ev.id, "content does not match its hash")
        prev = ev
    return checked, None


def audit_rows(*, post_id: int | None = None, since: datetime | None = None) -> Iterator[dict]:
    """Audit events as plain dicts for export (access-to-information requests)."""
    qs = AuditEvent.objects.select_related("actor").order_by("created_at", "id")
    if post_id is not None:
        qs = qs.filter(post_id=post_id)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    for ev in qs.iterator(chunk_size=2000):
        yield {
            "id": ev.id,
            "chain": ev.chain,
            "seq": ev.seq,
            "post": ev.post_id,
            "inbound": ev.inbound_id,
            "actor": ev.actor.username if ev.actor else "",
            "verb": ev.verb,
            "from_state": ev.from_state,
            "to_state": ev.to_state,
            "revision": ev.revision,
            "data": ev.data,
            "created_at": ev.created_at.isoformat(),
            "prev_hash": ev.prev_hash,
            "hash": ev.hash,
        }
