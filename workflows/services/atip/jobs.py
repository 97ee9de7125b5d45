"""Asking for an export: the request (validated, audited) and its hand-off to the workers after commit."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from ...models import AtipExport, Channel, InboundMessage, Post
from ..security_audit import security_record
from .common import _ensure_may_export, _invalid, log
from .redaction import patterns_clean

# --- request -----------------------------------------------------------------------------------

def _aware(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, datetime):
        raise _invalid(field, "schedule.invalid")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@transaction.atomic
def atip_export_request(
    *, by: User, organisation_id: int | None = None, channels: list[str] | None = None,
    date_from: datetime | None = None, date_to: datetime | None = None, post_id: int | None = None,
    inbound_id: int | None = None, redact_names: bool = False, redact_handles: bool = False,
    redact_patterns: list[str] | None = None, language: str = "",
) -> AtipExport:
    """Record an export request (state `queued`) and enqueue its build after commit. Audited
    (`atip_export_requested`, with the scope) in the organisation's security chain. Raises
    NotPermitted (no export permission), InvalidInput (an organisation the caller may not export
    from, unknown channels, a post or message of another organisation, bad dates or patterns)."""
    from ...selectors import atip_organisations_exportable

    _ensure_may_export(by)
    organisation_id = organisation_id or by.organisation_id
    if organisation_id is None or not atip_organisations_exportable(user=by).filter(id=organisation_id).exists():
        raise _invalid("organisation", "atip.organisation_unknown")
    slugs = list(dict.fromkeys(channels or []))
    if not all(isinstance(s, str) for s in slugs):
        raise _invalid("channels", "channels.not_slugs")
    chans = list(Channel.objects.filter(organisation_id=organisation_id, slug__in=slugs))
    if len(chans) != len(slugs):
        known = {c.slug for c in chans}
        raise _invalid("channels", "channels.unknown", {"channels": [s for s in slugs if s not in known]})
    date_from, date_to = _aware(date_from, "date_from"), _aware(date_to, "date_to")
    if date_from and date_to and date_to < date_from:
        raise _invalid("date_to", "atip.dates_order")
    if post_id is not None and not Post.objects.filter(id=post_id, organisation_id=organisation_id).exists():
        raise _invalid("post", "atip.post_unknown")
    if inbound_id is not None and not InboundMessage.objects.filter(
            id=inbound_id, organisation_id=organisation_id).exists():
        raise _invalid("inbound", "atip.inbound_unknown")
    patterns = patterns_clean(redact_patterns)
    language = language if language in ("en", "fr") else (by.preferred_language or "en")
    export = AtipExport.objects.create(
        organisation_id=organisation_id, requested_by=by, language=language, date_from=date_from,
        date_to=date_to, post_id=post_id, inbound_id=inbound_id, redact_names=bool(redact_names),
        redact_handles=bool(redact_handles), redact_patterns=patterns,
    )
    export.channels.set(chans)
    security_record(organisation_id=organisation_id, verb="atip_export_requested", actor=by,
                    target={"atip_export": export.id}, after=_scope(export, [c.slug for c in chans]))
    _enqueue_on_commit(export.id)
    return export


def _scope(export: AtipExport, channel_slugs: list[str]) -> dict:
    """What an export covers, for the audit trail and the manifest (never the patterns' text:
    a pattern may itself be personal data; only how many)."""
    return {
        "organisation": export.organisation_id, "channels": sorted(channel_slugs),
        "date_from": export.date_from.isoformat() if export.date_from else None,
        "date_to": export.date_to.isoformat() if export.date_to else None,
        "post": export.post_id, "inbound": export.inbound_id,
        "redact_names": export.redact_names, "redact_handles": export.redact_handles,
        "redact_patterns": len(export.redact_patterns or []),
    }


#: Hands one export's build to the workers: `tasks.enqueue_atip_export`, registered at app start
#: (WorkflowsConfig.ready()), so this module never imports the task layer (docs/architecture.md).
_enqueue_fn: Callable[[int], None] | None = None


def atip_register_enqueue(fn: Callable[[int], None] | None) -> None:
    global _enqueue_fn
    _enqueue_fn = fn


def _enqueue_on_commit(export_id: int) -> None:
    def send() -> None:
        if _enqueue_fn is None:
            log.warning("ATIP export %s: no enqueue function registered; the sweep will build it", export_id)
            return
        try:
            _enqueue_fn(export_id)
        except Exception:  # noqa: BLE001 - the broker is down: the beat sweep picks it up later
            log.warning("could not enqueue ATIP export %s; the sweep will retry", export_id, exc_info=True)

    transaction.on_commit(send)
