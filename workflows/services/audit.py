"""The append-only, hash-chained audit trail (docs/audit.md).

Every event carries an HMAC-SHA256 of its content and of the previous event's hash, under a key
from the environment (`AUDIT_HMAC_KEY`; the key's fingerprint is stored as `key_id` so the key
can be rotated). Each chain's end is anchored twice: by its owner row (a post's or inbound
message's `audit_seq` / `audit_head`, or an `AuditChainHead` for organisation chains) and by
signed checkpoints a beat task writes. `audit_verify_report` compares all three."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

# Who is acting lives in accounts (below the workflow: accounts' services set it too);
# re-exported here for the workflow's callers.
from accounts.acting import audit_context as audit_context
from accounts.acting import current_actor as current_actor
from accounts.acting import current_via as current_via
from accounts.models import User

from ..models import AuditChainHead, AuditCheckpoint, AuditEvent, InboundMessage, Post

log = logging.getLogger("parley.audit")

# --- keys ------------------------------------------------------------------------------------

_DEV_KEY_LABEL = b"parley.audit.hmac-key.v1"


def key_fingerprint(key: str) -> str:
    """The id stored with each event: 16 hex characters of SHA-256 over a label and the key.
    It tells keys apart without revealing anything usable about them."""
    return hashlib.sha256(b"parley-audit-key-id:" + key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeys:
    current_id: str
    keys: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]


def audit_keys() -> AuditKeys:
    """The signing key (AUDIT_HMAC_KEY) and the retired keys still accepted for verification
    (AUDIT_HMAC_OLD_KEYS). With DEBUG on and no key set, a key is derived from SECRET_KEY (a
    trial); with DEBUG off a missing key refuses every audited write."""
    current = getattr(settings, "AUDIT_HMAC_KEY", "") or ""
    if not current:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "AUDIT_HMAC_KEY is required when DEBUG is off (the audit trail's HMAC key; "
                "docs/audit.md). Generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'"
            )
        current = hmac.new(settings.SECRET_KEY.encode(), _DEV_KEY_LABEL, hashlib.sha256).hexdigest()
    keys = {key_fingerprint(current): current.encode("utf-8")}
    for old in getattr(settings, "AUDIT_HMAC_OLD_KEYS", []) or []:
        if old:
            keys.setdefault(key_fingerprint(old), old.encode("utf-8"))
    return AuditKeys(current_id=key_fingerprint(current), keys=keys)


class UnknownKey(Exception):
    """An event or checkpoint names a key id that is neither the current key nor a retired one."""


# --- hashing ---------------------------------------------------------------------------------

def _at(value: datetime) -> str:
    created = value.astimezone(UTC) if value.tzinfo else value
    return created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(ev: AuditEvent) -> dict:
    return {
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
        "at": _at(ev.created_at),
    }


def _dump(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(ev: AuditEvent, keys: AuditKeys | None = None) -> str:
    """The event's hash under its scheme: HMAC-SHA256 under key `ev.key_id` (which the body
    includes, so a row cannot be moved to another key), or plain SHA-256 for legacy rows
    (`key_id` empty). Raises UnknownKey for a key id no configured key has."""
    if not ev.key_id:
        return hashlib.sha256(_dump(_body(ev))).hexdigest()
    keys = keys or audit_keys()
    key = keys.keys.get(ev.key_id)
    if key is None:
        raise UnknownKey(ev.key_id)
    return hmac.new(key, _dump({**_body(ev), "key": ev.key_id, "v": 2}), hashlib.sha256).hexdigest()


def sign_checkpoint(*, chain: str, seq: int, head: str, at: datetime, key_id: str,
                    keys: AuditKeys | None = None) -> str:
    keys = keys or audit_keys()
    key = keys.keys.get(key_id)
    if key is None:
        raise UnknownKey(key_id)
    body = {"type": "checkpoint", "v": 1, "chain": chain, "seq": seq, "head": head, "at": _at(at), "key": key_id}
    return hmac.new(key, _dump(body), hashlib.sha256).hexdigest()


def _new_event(*, chain: str, seq: int, prev: str, keys: AuditKeys, save: bool = True, **fields: Any) -> AuditEvent:
    ev = AuditEvent(chain=chain, seq=seq, prev_hash=prev, key_id=keys.current_id,
                    created_at=timezone.now(), **fields)
    ev.hash = compute_hash(ev, keys)
    if save:
        ev.save(force_insert=True)
    return ev


def _json_safe(data: dict | None) -> dict:
    return json.loads(json.dumps(data or {}, default=str))


# --- writing ---------------------------------------------------------------------------------

def audit_record(
    *,
    owner: Post | InboundMessage,
    verb: str,
    actor: User | None = None,
    from_state: str = "",
    to_state: str = "",
    data: dict | None = None,
    pending: list[AuditEvent] | None = None,
) -> AuditEvent:
    """Append one event to `owner`'s chain. The caller holds `owner`'s row lock and saves
    `owner` afterwards (its audit_seq/audit_head move forward in memory here). `pending`: a
    list the event is added to instead of being written now (the caller writes the list in
    one INSERT before it commits: engine.TransitionContext)."""
    is_post = isinstance(owner, Post)
    ev = _new_event(
        save=pending is None,
        chain=f"{'post' if is_post else 'inbound'}:{owner.pk}",
        seq=owner.audit_seq + 1,
        prev=owner.audit_head,
        keys=audit_keys(),
        organisation_id=owner.organisation_id,
        post_id=owner.pk if is_post else None,
        inbound_id=None if is_post else owner.pk,
        actor_id=getattr(actor, "pk", None),
        verb=verb,
        from_state=from_state,
        to_state=to_state,
        revision=owner.revision if isinstance(owner, Post) else None,
        data=_json_safe(data),
    )
    if pending is not None:
        pending.append(ev)  # written by the caller, in one INSERT with the others
    owner.audit_seq = ev.seq
    owner.audit_head = ev.hash
    return ev


@transaction.atomic
def audit_append(*, chain: str, organisation_id: int | None, verb: str, actor: User | None = None,
                 data: dict | None = None) -> AuditEvent:
    """Append one event to a chain without an owner row (`policy:<org>`, `security:<org>`):
    its `AuditChainHead` is locked, so concurrent appends extend the chain one after the other,
    and moved forward in the same transaction."""
    keys = audit_keys()
    AuditChainHead.objects.get_or_create(chain=chain, defaults={"organisation_id": organisation_id})
    head = AuditChainHead.objects.select_for_update().get(chain=chain)
    ev = _new_event(
        chain=chain, seq=head.seq + 1, prev=head.head, keys=keys,
        organisation_id=organisation_id, actor_id=getattr(actor, "pk", None), verb=verb,
        data=_json_safe(data),
    )
    head.seq, head.head, head.updated_at = ev.seq, ev.hash, ev.created_at
    head.save(update_fields=["seq", "head", "updated_at"])
    return ev


# --- checkpoints -----------------------------------------------------------------------------

def _segment_ok(chain: str, after_seq: int, after_hash: str, keys: AuditKeys,
                allow_legacy: bool) -> tuple[int, str] | None:
    """Verify the events of `chain` after (after_seq, after_hash); return the new end, or None
    when anything is wrong (the checkpoint is then not written)."""
    seq, prev = after_seq, after_hash
    for ev in AuditEvent.objects.filter(chain=chain, seq__gt=after_seq).order_by("seq").iterator(chunk_size=500):
        if ev.seq != seq + 1 or ev.prev_hash != prev or (not ev.key_id and not allow_legacy):
            return None
        try:
            if not hmac.compare_digest(compute_hash(ev, keys), ev.hash):
                return None
        except UnknownKey:
            return None
        seq, prev = ev.seq, ev.hash
    return seq, prev


def audit_checkpoint(*, full: bool = False, allow_legacy: bool = False) -> dict:
    """Beat task `parley.audit_checkpoint`: for every chain that grew since its last checkpoint,
    verify the new events and write a signed checkpoint of its end. A chain that fails (a row
    edited or deleted since the last checkpoint) gets none and is logged as an error;
    `verify_audit` reports it. `allow_legacy` seals pre-HMAC events (the upgrade does it once).
    Returns counts: {"written", "unchanged", "refused"}."""
    keys = audit_keys()
    last_run = AuditCheckpoint.objects.aggregate(at=Max("created_at"))["at"]
    events = AuditEvent.objects.all()
    if last_run is not None and not full:
        # Events are stamped before their transaction commits: look back well past the last run.
        events = events.filter(created_at__gte=last_run - timedelta(hours=1))
    chains = sorted(set(events.values_list("chain", flat=True).distinct()))
    written = unchanged = refused = 0
    for i in range(0, len(chains), 500):
        batch = chains[i:i + 500]
        counts = _checkpoint_batch(batch, keys, allow_legacy)
        written, unchanged, refused = written + counts[0], unchanged + counts[1], refused + counts[2]
    return {"written": written, "unchanged": unchanged, "refused": refused}


def _checkpoint_batch(batch: list[str], keys: AuditKeys, allow_legacy: bool) -> tuple[int, int, int]:
    """A few queries for the whole batch; only the chains that grew are read event by event."""
    written = unchanged = refused = 0
    ends = dict(AuditEvent.objects.filter(chain__in=batch).values("chain").annotate(m=Max("seq"))
                .values_list("chain", "m"))
    latest: dict[str, AuditCheckpoint] = {}
    for cp in AuditCheckpoint.objects.filter(chain__in=batch).order_by("chain", "-seq"):
        if cp.chain not in latest and _checkpoint_valid(cp, keys):
            latest[cp.chain] = cp
    at_cp: dict[tuple[str, int], str] = {}
    if latest:
        where = Q()
        for cp in latest.values():
            where |= Q(chain=cp.chain, seq=cp.seq)
        at_cp = {(c, n): h for c, n, h in AuditEvent.objects.filter(where).values_list("chain", "seq", "hash")}
    for chain in batch:
        cp_latest = latest.get(chain)
        start = (0, "")
        if cp_latest is not None:
            here = at_cp.get((chain, cp_latest.seq))
            if here is None or not hmac.compare_digest(here, cp_latest.head):
                log.error("audit checkpoint refused: %s no longer matches its checkpoint at seq %s", chain, cp_latest.seq)
                refused += 1
                continue
            if ends.get(chain) == cp_latest.seq:
                unchanged += 1
                continue
            start = (cp_latest.seq, cp_latest.head)
        end = _segment_ok(chain, start[0], start[1], keys, allow_legacy)
        if end is None:
            log.error("audit checkpoint refused: %s does not verify after seq %s", chain, start[0])
            refused += 1
            continue
        if end[0] == start[0]:
            unchanged += 1
            continue
        now = timezone.now()
        try:
            with transaction.atomic():
                cp = AuditCheckpoint.objects.create(
                    chain=chain, seq=end[0], head=end[1], created_at=now, key_id=keys.current_id,
                    signature=sign_checkpoint(chain=chain, seq=end[0], head=end[1], at=now,
                                              key_id=keys.current_id, keys=keys),
                )
        except IntegrityError:
            # A checkpoint already holds this position but does not verify: a forged row.
            log.error("audit checkpoint refused: %s has an invalid checkpoint at seq %s", chain, end[0])
            refused += 1
            continue
        # A copy outside the database (the log stream): evidence even if every row of a chain,
        # its anchor and its checkpoints were deleted together.
        log.info("audit checkpoint", extra={"chain": chain, "seq": cp.seq, "head": cp.head,
                                            "at": _at(now), "key_id": cp.key_id, "signature": cp.signature})
        written += 1
    return written, unchanged, refused


# --- verification ----------------------------------------------------------------------------

#: What verify_audit can find, in the order a report lists them (docs/audit.md explains each).
FINDING_KINDS = {
    "edited_row": "an event's content or link does not match its hash",
    "deleted_rows": "events are missing inside the chain (a sequence gap)",
    "deleted_tail": "the chain ends before its anchor or a checkpoint says it does",
    "deleted_chain": "an anchor or checkpoint exists but the chain has no events",
    "rewritten_suffix": "the event at the anchored or checkpointed position has another hash",
    "missing_anchor": "the chain has events its anchor does not account for (or no anchor)",
    "unknown_key": "an event is signed with a key that is not configured",
    "legacy_unsealed": "an unkeyed (pre-HMAC) event is not covered by a signed checkpoint",
    "bad_checkpoint": "a checkpoint's signature does not verify",
}


@dataclass
class Finding:
    chain: str
    kind: str
    seq: int | None
    event_id: int | None
    detail: str


@dataclass
class AuditReport:
    events_checked: int = 0
    chains_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def by_chain(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            out.setdefault(f.chain, []).append(f)
        return out


@dataclass
class _ChainWalk:
    chain: str
    last_seq: int = 0
    last_hash: str = ""
    hashes: dict[int, str] = field(default_factory=dict)
    legacy_max_seq: int = 0


def _anchor_of(chains: list[str]) -> dict[str, tuple[int, str] | None]:
    """Owner anchors for a batch of chains: (seq, head), or None when there is no anchor."""
    post_ids = [int(c.split(":", 1)[1]) for c in chains if c.startswith("post:")]
    inbound_ids = [int(c.split(":", 1)[1]) for c in chains if c.startswith("inbound:")]
    others = [c for c in chains if not c.startswith(("post:", "inbound:"))]
    out: dict[str, tuple[int, str] | None] = dict.fromkeys(chains)
    for pk, seq, head in Post.objects.filter(id__in=post_ids).values_list("id", "audit_seq", "audit_head"):
        out[f"post:{pk}"] = (seq, head)
    for pk, seq, head in InboundMessage.objects.filter(id__in=inbound_ids).values_list("id", "audit_seq", "audit_head"):
        out[f"inbound:{pk}"] = (seq, head)
    for chain, seq, head in AuditChainHead.objects.filter(chain__in=others).values_list("chain", "seq", "head"):
        out[chain] = (seq, head)
    return out


def _checkpoint_valid(cp: AuditCheckpoint, keys: AuditKeys) -> bool:
    try:
        expected = sign_checkpoint(chain=cp.chain, seq=cp.seq, head=cp.head, at=cp.created_at,
                                   key_id=cp.key_id, keys=keys)
    except UnknownKey:
        return False
    return hmac.compare_digest(expected, cp.signature)


def _valid_checkpoints(chains: list[str], keys: AuditKeys, report: AuditReport) -> dict[str, list[AuditCheckpoint]]:
    out: dict[str, list[AuditCheckpoint]] = {c: [] for c in chains}
    for cp in AuditCheckpoint.objects.filter(chain__in=chains).order_by("chain", "seq"):
        if _checkpoint_valid(cp, keys):
            out[cp.chain].append(cp)
        else:
            report.findings.append(Finding(cp.chain, "bad_checkpoint", cp.seq, None,
                                           f"checkpoint {cp.id} at seq {cp.seq}: signature does not verify"))
    return out


def _finish_batch(batch: list[_ChainWalk], keys: AuditKeys, report: AuditReport) -> None:
    if not batch:
        return
    names = [w.chain for w in batch]
    anchors = _anchor_of(names)
    checkpoints = _valid_checkpoints(names, keys, report)
    for w in batch:
        anchor = anchors.get(w.chain)
        if anchor is None:
            report.findings.append(Finding(w.chain, "missing_anchor", w.last_seq, None,
                                           "no anchor row for this chain"))
        else:
            a_seq, a_head = anchor
            if a_seq > w.last_seq:
                report.findings.append(Finding(w.chain, "deleted_tail", w.last_seq + 1, None,
                                               f"anchor says {a_seq} events, the chain ends at seq {w.last_seq}"))
            elif a_seq < w.last_seq:
                report.findings.append(Finding(w.chain, "missing_anchor", a_seq + 1, None,
                                               f"anchor says {a_seq} events, the chain has {w.last_seq}"))
            elif not hmac.compare_digest(a_head, w.last_hash):
                report.findings.append(Finding(w.chain, "rewritten_suffix", w.last_seq, None,
                                               f"the last event's hash is not the anchored head (seq {a_seq})"))
        sealed = 0
        for cp in checkpoints[w.chain]:
            if cp.seq > w.last_seq:
                report.findings.append(Finding(w.chain, "deleted_tail", w.last_seq + 1, None,
                                               f"checkpoint of {_at(cp.created_at)} says {cp.seq} events, "
                                               f"the chain ends at seq {w.last_seq}"))
            elif not hmac.compare_digest(w.hashes.get(cp.seq, ""), cp.head):
                report.findings.append(Finding(w.chain, "rewritten_suffix", cp.seq, None,
                                               f"event {cp.seq} differs from the checkpoint of {_at(cp.created_at)}"))
            else:
                sealed = max(sealed, cp.seq)
        if w.legacy_max_seq > sealed:
            report.findings.append(Finding(w.chain, "legacy_unsealed", w.legacy_max_seq, None,
                                           f"unkeyed events up to seq {w.legacy_max_seq}, sealed only to {sealed}"))


def _deleted_chains(report: AuditReport, chains: list[str] | None = None) -> None:
    """Anchors and checkpoints whose chain has no event at all (among `chains` when given)."""
    if chains is not None:
        walked = {f.chain for f in report.findings} | set(
            AuditEvent.objects.filter(chain__in=chains).values_list("chain", flat=True).distinct())
        for chain, anchor in _anchor_of([c for c in chains if c not in walked]).items():
            if anchor is not None and anchor[0] > 0:
                report.findings.append(Finding(chain, "deleted_chain", None, None,
                                               f"the anchor says {anchor[0]} events, none exist"))
        return
    posts = Post.objects.filter(audit_seq__gt=0).exclude(Exists(AuditEvent.objects.filter(post_id=OuterRef("pk"))))
    for pk, seq in posts.values_list("id", "audit_seq").iterator():
        report.findings.append(Finding(f"post:{pk}", "deleted_chain", None, None, f"the post's anchor says {seq} events, none exist"))
    inbound = InboundMessage.objects.filter(audit_seq__gt=0).exclude(
        Exists(AuditEvent.objects.filter(inbound_id=OuterRef("pk"))))
    for pk, seq in inbound.values_list("id", "audit_seq").iterator():
        report.findings.append(Finding(f"inbound:{pk}", "deleted_chain", None, None, f"the message's anchor says {seq} events, none exist"))
    heads = AuditChainHead.objects.filter(seq__gt=0).exclude(Exists(AuditEvent.objects.filter(chain=OuterRef("chain"))))
    for chain, seq in heads.values_list("chain", "seq"):
        report.findings.append(Finding(chain, "deleted_chain", None, None, f"the chain head says {seq} events, none exist"))
    cps = (AuditCheckpoint.objects.exclude(Exists(AuditEvent.objects.filter(chain=OuterRef("chain"))))
           .values("chain").annotate(seq=Max("seq")))
    for row in cps:
        report.findings.append(Finding(row["chain"], "deleted_chain", None, None,
                                       f"a checkpoint says {row['seq']} events, none exist"))


def audit_verify_report(*, since: datetime | None = None, batch_size: int = 500,
                        chains: list[str] | None = None) -> AuditReport:
    """Walk every chain (or those with events since `since`, or only `chains`) and compare it
    with its anchor and its checkpoints; then look for anchors and checkpoints whose chain is
    gone. Every problem is a Finding (kinds in FINDING_KINDS); an empty list means the trail is
    whole. An access-to-information export verifies the chains of what it contains."""
    keys = audit_keys()
    report = AuditReport()
    qs = AuditEvent.objects.order_by("chain", "seq")
    if chains is not None:
        qs = qs.filter(chain__in=chains)
    if since is not None:
        qs = qs.filter(chain__in=AuditEvent.objects.filter(created_at__gte=since).values("chain"))
    batch: list[_ChainWalk] = []
    walk: _ChainWalk | None = None
    broken_link = False
    for ev in qs.iterator(chunk_size=2000):
        report.events_checked += 1
        if walk is None or walk.chain != ev.chain:
            if walk is not None:
                batch.append(walk)
                if len(batch) >= batch_size:
                    _finish_batch(batch, keys, report)
                    batch = []
            walk = _ChainWalk(ev.chain)
            report.chains_checked += 1
            broken_link = False
        expected_seq, expected_prev = walk.last_seq + 1, walk.last_hash
        if ev.seq != expected_seq:
            report.findings.append(Finding(ev.chain, "deleted_rows", ev.seq, ev.id,
                                           f"sequence gap: expected {expected_seq}, found {ev.seq}"))
        elif ev.prev_hash != expected_prev and not broken_link:
            report.findings.append(Finding(ev.chain, "edited_row", ev.seq, ev.id, "previous hash does not match"))
        try:
            good = hmac.compare_digest(compute_hash(ev, keys), ev.hash)
        except UnknownKey:
            report.findings.append(Finding(ev.chain, "unknown_key", ev.seq, ev.id, f"key id {ev.key_id!r} is not configured"))
            good = True  # reported once as unknown_key, not again as edited
        if not good:
            report.findings.append(Finding(ev.chain, "edited_row", ev.seq, ev.id, "content does not match its hash"))
            broken_link = True  # the next event's link to this one is the same fault
        else:
            broken_link = False
        if not ev.key_id:
            walk.legacy_max_seq = ev.seq
        walk.last_seq, walk.last_hash = ev.seq, ev.hash
        walk.hashes[ev.seq] = ev.hash
    if walk is not None:
        batch.append(walk)
    _finish_batch(batch, keys, report)
    _deleted_chains(report, chains)
    report.findings.sort(key=lambda f: (f.chain, f.seq or 0))
    return report


@dataclass
class BrokenLink:
    chain: str
    seq: int
    event_id: int
    reason: str


def audit_verify(*, since: datetime | None = None) -> tuple[int, BrokenLink | None]:
    """(events checked, first problem or None): the short form of `audit_verify_report`."""
    report = audit_verify_report(since=since)
    if report.ok:
        return report.events_checked, None
    first = report.findings[0]
    reason = f"{first.kind}: {first.detail}"
    return report.events_checked, BrokenLink(first.chain, first.seq or 0, first.event_id or 0, reason)


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
            "key_id": ev.key_id,
        }
