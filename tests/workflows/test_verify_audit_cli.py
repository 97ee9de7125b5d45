"""verify_audit, the command as operators run it, refuses a trail that was shortened or rewritten.

Only the command and raw SQL are used, so this file runs unchanged on the code before keyed
hashes and anchors: there all three tests fail (checked), here they pass."""
import hashlib
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.workflows import factories as f
from workflows.models import AuditEvent

pytestmark = pytest.mark.django_db


def _sql(sql, params=()):
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("ALTER TABLE workflows_auditevent DISABLE TRIGGER workflows_auditevent_append_only")
        cur.execute(sql, params)
        cur.execute("ALTER TABLE workflows_auditevent ENABLE TRIGGER workflows_auditevent_append_only")


def test_deleted_tail(demo):
    post = f.approved(demo)
    last = AuditEvent.objects.filter(post=post).order_by("-seq").first()
    _sql("DELETE FROM workflows_auditevent WHERE id = %s", [last.id])
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_deleted_chain(demo):
    post = f.approved(demo)
    _sql("DELETE FROM workflows_auditevent WHERE post_id = %s", [post.id])
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_rewritten_suffix(demo):
    post = f.approved(demo)
    events = list(AuditEvent.objects.filter(post=post).order_by("seq"))
    prev = events[-3].hash
    for ev in events[-2:]:
        ev.data = {**ev.data, "comment": "nothing to see"}
        ev.prev_hash = prev
        body = {"chain": ev.chain, "seq": ev.seq, "prev": ev.prev_hash, "post": ev.post_id, "inbound": ev.inbound_id,
                "org": ev.organisation_id, "actor": ev.actor_id, "verb": ev.verb, "from": ev.from_state,
                "to": ev.to_state, "revision": ev.revision, "data": ev.data,
                "at": ev.created_at.astimezone(__import__("datetime").UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        ev.hash = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                            default=str).encode()).hexdigest()
        _sql("UPDATE workflows_auditevent SET data = %s, prev_hash = %s, hash = %s WHERE id = %s",
             [json.dumps(ev.data), ev.prev_hash, ev.hash, ev.id])
        prev = ev.hash
    with connection.cursor() as cur:
        cur.execute("UPDATE workflows_post SET audit_head = %s WHERE id = %s", [prev, post.id])
    with pytest.raises(CommandError):
        call_command("verify_audit")
