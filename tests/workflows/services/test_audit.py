from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from tests.workflows import factories as f
from workflows.models import AuditEvent
from workflows.services.audit import audit_verify

pytestmark = pytest.mark.django_db


def test_chain_links_every_event_of_a_post(demo):
    post = f.approved(demo)
    events = list(AuditEvent.objects.filter(post=post).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == ""
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert audit_verify() == (AuditEvent.objects.count(), None)


@pytest.mark.parametrize("sql", [
    "UPDATE workflows_auditevent SET verb = 'edited' WHERE id = %s",
    "DELETE FROM workflows_auditevent WHERE id = %s",
])
def test_database_refuses_update_and_delete(demo, sql):
    post = f.at_review(demo)
    ev = AuditEvent.objects.filter(post=post).first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [ev.id])
    assert AuditEvent.objects.get(id=ev.id).verb == ev.verb


def _tamper(sql, params):
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred FK checks so ALTER may run
        cur.execute("ALTER TABLE workflows_auditevent DISABLE TRIGGER workflows_auditevent_append_only")
        cur.execute(sql, params)
        cur.execute("ALTER TABLE workflows_auditevent ENABLE TRIGGER workflows_auditevent_append_only")


@pytest.mark.postgresql("disables PostgreSQL's append-only trigger to tamper")
def test_verify_audit_catches_a_row_altered_with_raw_sql(demo):
    post = f.approved(demo)
    call_command("verify_audit")  # intact
    victim = AuditEvent.objects.get(post=post, verb="approved", data__step="Review")
    _tamper("UPDATE workflows_auditevent SET data = %s WHERE id = %s",
            [json.dumps({**victim.data, "comment": "rewritten"}), victim.id])
    checked, broken = audit_verify()
    assert broken is not None and broken.event_id == victim.id and "hash" in broken.reason
    with pytest.raises(CommandError, match=f"post:{post.id} seq {victim.seq}"):
        call_command("verify_audit")


@pytest.mark.postgresql("disables PostgreSQL's append-only trigger to tamper")
def test_verify_audit_catches_a_deleted_row(demo):
    post = f.approved(demo)
    victim = AuditEvent.objects.get(post=post, seq=3)
    _tamper("DELETE FROM workflows_auditevent WHERE id = %s", [victim.id])
    _, broken = audit_verify()
    assert broken is not None and broken.chain == f"post:{post.id}" and broken.seq == 4


def test_export_audit_json_and_csv(demo, tmp_path):
    post = f.approved(demo)
    out = tmp_path / "a.json"
    call_command("export_audit", "--post", str(post.id), "--output", str(out))
    rows = json.loads(out.read_text())
    assert [r["verb"] for r in rows][:2] == ["created", "submitted"]
    assert {r["post"] for r in rows} == {post.id}
    out_csv = tmp_path / "a.csv"
    call_command("export_audit", "--since", "2000-01-01", "--format", "csv", "--output", str(out_csv))
    parsed = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert len(parsed) == AuditEvent.objects.count()
    assert parsed[0]["hash"]
