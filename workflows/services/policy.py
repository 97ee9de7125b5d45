"""Policy is data (lanes, steps, guideline and escalation rules), so changes to it belong in the
tamper-evident audit trail too: one hash chain per organisation, `policy:<organisation id>`."""
from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from accounts.models import User

from ..models import AuditEvent
from .audit import audit_append


def _organisation_id(obj: Any) -> int:
    org_id = getattr(obj, "organisation_id", None)
    return org_id if org_id is not None else obj.lane.organisation_id


def policy_snapshot(obj: Any) -> dict:
    """The object's field values as JSON-safe data (foreign keys by id)."""
    data = {}
    for field in obj._meta.concrete_fields:
        data[field.attname] = getattr(obj, field.attname)
    return json.loads(json.dumps(data, default=str))


@transaction.atomic
def policy_record_change(*, obj: Any, actor: User | None, action: str, changed_fields: list[str] | None = None) -> AuditEvent:
    """Append a `policy_<action>` event (created, changed, deleted) for a lane, step or rule to
    its organisation's policy chain, with the object's values after the change. The chain's
    head row is locked so concurrent edits extend the chain one after the other."""
    if action not in ("created", "changed", "deleted"):
        raise ValueError(action)
    org_id = _organisation_id(obj)
    return audit_append(
        chain=f"policy:{org_id}", organisation_id=org_id, actor=actor, verb=f"policy_{action}",
        data={
            "model": obj._meta.label_lower,
            "object_id": obj.pk,
            "object": str(obj)[:200],
            "changed_fields": sorted(changed_fields or []),
            "values": policy_snapshot(obj),
        },
    )
