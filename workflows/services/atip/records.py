"""The records an export holds, read in chunks with their audit chains verified."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from ...models import AuditEvent, Decision, InboundMessage, Post, PostRevision, Publication
from ..audit import audit_verify_report
from .media import media_records

# --- build -------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


EVENT_FIELDS = ("chain", "seq", "post_id", "inbound_id", "actor__username", "verb", "from_state", "to_state",
                "revision", "data", "created_at", "prev_hash", "hash", "key_id")


def _plain(row: Mapping[str, Any]) -> dict:
    """A values() row as JSON-ready data: datetimes in ISO 8601, `x__y` and `x_id` names short."""
    out = {}
    for k, v in row.items():
        k = k.split("__", 1)[0] if k.endswith(("__username", "__slug", "__name")) else k
        if k in ("post_id", "inbound_id", "in_reply_to_id"):
            k = k[:-3]
        out[k] = v.isoformat() if isinstance(v, datetime) else v
    return out


def _events(field: str, ids: list[int]) -> dict[int, list[dict]]:
    """{owner id: [event, ...]} in chain order, as plain data (no model instances: 80,000 events
    of a 10,000-post export are read as rows)."""
    out: dict[int, list[dict]] = {}
    for row in AuditEvent.objects.filter(**{f"{field}__in": ids}).order_by("chain", "seq").values(*EVENT_FIELDS):
        ev = _plain(row)
        ev["actor"] = ev["actor"] or ""
        out.setdefault(row[field], []).append(ev)
    return out


def _verify(chains: list[str]) -> dict[str, list[dict]]:
    """{chain: [finding, ...]} for the given chains (an empty list: the chain verifies)."""
    report = audit_verify_report(chains=chains)
    out: dict[str, list[dict]] = {c: [] for c in chains}
    for f in report.findings:
        out.setdefault(f.chain, []).append({"kind": f.kind, "seq": f.seq, "detail": f.detail})
    return out


def _post_records(ids: list[int]) -> list[dict]:
    """Every post of `ids` with its versions, decisions, publications and audit chain (verified),
    read as rows: one query per kind, whatever the number of posts."""
    by_post: dict[str, dict[int, list]] = {k: {} for k in ("channels", "revisions", "decisions", "publications")}
    for pid, slug in Post.channels.through.objects.filter(post_id__in=ids).values_list("post_id", "channel__slug"):
        by_post["channels"].setdefault(pid, []).append(slug)
    for rev in PostRevision.objects.filter(post_id__in=ids).order_by("post_id", "number").values(
            "post_id", "number", "texts", "media", "created_by__username", "created_at"):
        by_post["revisions"].setdefault(rev["post_id"], []).append(_plain(rev))
    for dec in Decision.objects.filter(post_id__in=ids).order_by("post_id", "created_at", "id").values(
            "post_id", "step__name", "revision", "reviewer__username", "verdict", "comment", "created_at",
            "invalidated_at"):
        by_post["decisions"].setdefault(dec["post_id"], []).append(_plain(dec))
    for pub in Publication.objects.filter(post_id__in=ids).order_by("post_id", "channel_id", "language").values(
            "post_id", "channel__slug", "language", "status", "external_id", "url", "body", "sent_at", "retracted_at"):
        by_post["publications"].setdefault(pub["post_id"], []).append(_plain(pub))
    events = _events("post_id", ids)
    media = media_records(ids)
    findings = _verify([f"post:{i}" for i in ids])
    out = []
    for row in Post.objects.filter(id__in=ids).order_by("id").values(
            "id", "kind", "state", "lane__slug", "author__username", "in_reply_to_id", "created_at", "submitted_at",
            "approved_at", "published_at", "urgent", "urgent_reason"):
        rec = _plain(row)
        pid, chain = row["id"], f"post:{row['id']}"
        for d in by_post["revisions"].get(pid, []) + by_post["decisions"].get(pid, []) + by_post["publications"].get(pid, []):
            d.pop("post", None)
        rec.update({
            "channels": sorted(by_post["channels"].get(pid, [])),
            "revisions": by_post["revisions"].get(pid, []),
            "decisions": by_post["decisions"].get(pid, []),
            "publications": by_post["publications"].get(pid, []),
            "media": media.get(pid, []),
            "audit": {"chain": chain, "verified": not findings.get(chain), "findings": findings.get(chain, []),
                      "events": events.get(pid, [])},
        })
        out.append(rec)
    return out


def _inbound_records(ids: list[int]) -> list[dict]:
    events = _events("inbound_id", ids)
    findings = _verify([f"inbound:{i}" for i in ids])
    out = []
    for row in InboundMessage.objects.filter(id__in=ids).order_by("id").values(
            "id", "channel__slug", "external_id", "author", "author_handle", "kind", "language", "body", "url",
            "received_at", "status", "first_response_at"):
        rec = _plain(row)
        rec["text"] = rec.pop("body")
        chain = f"inbound:{row['id']}"
        rec["audit"] = {"chain": chain, "verified": not findings.get(chain), "findings": findings.get(chain, []),
                        "events": events.get(row["id"], [])}
        out.append(rec)
    return out
