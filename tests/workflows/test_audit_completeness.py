"""The audit trail proves its own completeness (issue 9 §7): each tampering is done for real on
PostgreSQL, with the append-only triggers dropped inside the test and restored, and verify_audit
must name it. On the old code (unkeyed SHA-256, no anchors, no checkpoints) a deleted tail, a
deleted chain and a rewritten suffix all verified clean."""
from __future__ import annotations

import hashlib
import hmac
import json
from contextlib import contextmanager

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from tests.workflows import factories as f
from workflows.models import AuditChainHead, AuditCheckpoint, AuditEvent, GuidelineRule, Post
from workflows.services import audit as audit_svc
from workflows.services.audit import (
    _body,
    _dump,
    audit_checkpoint,
    audit_keys,
    audit_verify,
    audit_verify_report,
    compute_hash,
    key_fingerprint,
)
from workflows.services.policy import policy_record_change

pytestmark = pytest.mark.django_db

TRIGGERS = {
    "workflows_auditevent": ("workflows_auditevent_append_only", "parley_audit_append_only"),
    "workflows_auditcheckpoint": ("workflows_auditcheckpoint_append_only", "parley_append_only"),
}


@contextmanager
def triggers_dropped():
    """What an attacker with the database owner's rights does first."""
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred FK checks so DDL may run
        for table, (trigger, _) in TRIGGERS.items():
            cur.execute(f"DROP TRIGGER {trigger} ON {table}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            for table, (trigger, function) in TRIGGERS.items():
                cur.execute(f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table} "
                            f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def _sql(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)


def findings(chain):
    return [(x.kind, x.seq) for x in audit_verify_report().findings if x.chain == chain]


def kinds(chain):
    return {k for k, _ in findings(chain)}


def _post_chain(demo):
    post = f.approved(demo)
    events = list(AuditEvent.objects.filter(chain=f"post:{post.id}").order_by("seq"))
    assert len(events) >= 5
    return post, events


def _forge(ev: AuditEvent, *, key: bytes | None, key_id: str) -> str:
    """Recompute an event's hash as an attacker would: plain SHA-256, or HMAC under `key`."""
    ev.key_id = key_id
    if key is None:
        return hashlib.sha256(_dump(_body(ev))).hexdigest()
    return hmac.new(key, _dump({**_body(ev), "key": key_id, "v": 2}), hashlib.sha256).hexdigest()


def _rewrite_suffix(post, events, start_seq, *, key, key_id, move_anchor=True):
    """Replace every event from `start_seq` on with a forged one (new data, recomputed links and
    hashes), and move the post's anchor to the forged head unless told not to."""
    prev = next(e.hash for e in events if e.seq == start_seq - 1)
    for ev in [e for e in events if e.seq >= start_seq]:
        ev.data = {**ev.data, "comment": "nothing to see"}
        ev.prev_hash = prev
        ev.hash = _forge(ev, key=key, key_id=key_id)
        _sql("UPDATE workflows_auditevent SET data = %s, prev_hash = %s, hash = %s, key_id = %s WHERE id = %s",
             [json.dumps(ev.data), ev.prev_hash, ev.hash, ev.key_id, ev.id])
        prev = ev.hash
    if move_anchor:
        _sql("UPDATE workflows_post SET audit_head = %s WHERE id = %s", [prev, post.id])


# --- an intact trail ------------------------------------------------------------------------

def test_an_intact_trail_verifies_with_anchors_and_checkpoints(demo):
    post, events = _post_chain(demo)
    assert all(e.key_id == audit_keys().current_id for e in events)
    counts = audit_checkpoint(full=True)
    assert counts["refused"] == 0 and counts["written"] >= 1
    cp = AuditCheckpoint.objects.get(chain=f"post:{post.id}")
    assert (cp.seq, cp.head) == (post.audit_seq, post.audit_head) == (events[-1].seq, events[-1].hash)
    report = audit_verify_report()
    assert report.ok, report.findings
    assert audit_verify() == (AuditEvent.objects.count(), None)
    call_command("verify_audit")
    rows = list(audit_svc.audit_rows(post_id=post.id))
    assert {r["key_id"] for r in rows} == {audit_keys().current_id}


def test_the_hash_is_keyed(demo):
    """Plain SHA-256 over the content no longer reproduces the stored hash: rewriting needs the key."""
    _, events = _post_chain(demo)
    ev = events[0]
    assert hashlib.sha256(_dump(_body(ev))).hexdigest() != ev.hash
    with override_settings(AUDIT_HMAC_KEY="another-key-entirely-0123456789-abcdefghij"):
        with pytest.raises(audit_svc.UnknownKey):
            compute_hash(ev)


# --- each tampering -------------------------------------------------------------------------

def test_edited_row(demo):
    post, events = _post_chain(demo)
    victim = events[2]
    with triggers_dropped():
        _sql("UPDATE workflows_auditevent SET data = %s WHERE id = %s",
             [json.dumps({**victim.data, "comment": "rewritten"}), victim.id])
    assert findings(f"post:{post.id}") == [("edited_row", victim.seq)]
    with pytest.raises(CommandError, match=f"post:{post.id} seq {victim.seq}"):
        call_command("verify_audit")


def test_deleted_tail(demo):
    """Fails on the old code: deleting the last events left a chain that still linked up."""
    post, events = _post_chain(demo)
    with triggers_dropped():
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s AND seq > %s", [f"post:{post.id}", events[-3].seq])
    assert findings(f"post:{post.id}") == [("deleted_tail", events[-3].seq + 1)]


def test_deleted_tail_with_the_anchor_moved_back_is_caught_by_the_checkpoint(demo):
    post, events = _post_chain(demo)
    audit_checkpoint(full=True)
    keep = events[-3]
    with triggers_dropped():
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s AND seq > %s", [f"post:{post.id}", keep.seq])
        _sql("UPDATE workflows_post SET audit_seq = %s, audit_head = %s WHERE id = %s", [keep.seq, keep.hash, post.id])
    assert findings(f"post:{post.id}") == [("deleted_tail", keep.seq + 1)]
    # ...and the next checkpoint run refuses to sign over it.
    assert audit_checkpoint()["refused"] == 1


def test_deleted_chain(demo):
    """Fails on the old code: a post whose events were all deleted was simply not looked at."""
    post, _ = _post_chain(demo)
    with triggers_dropped():
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s", [f"post:{post.id}"])
    assert findings(f"post:{post.id}") == [("deleted_chain", None)]


def test_deleted_chain_with_the_anchor_reset_is_caught_by_the_checkpoint(demo):
    post, _ = _post_chain(demo)
    audit_checkpoint(full=True)
    with triggers_dropped():
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s", [f"post:{post.id}"])
        _sql("UPDATE workflows_post SET audit_seq = 0, audit_head = '' WHERE id = %s", [post.id])
    assert findings(f"post:{post.id}") == [("deleted_chain", None)]


def test_deleted_policy_chain_and_its_head(demo):
    rule = GuidelineRule.objects.filter(lane=demo.lane("conversation")).first()
    policy_record_change(obj=rule, actor=demo.admin, action="changed", changed_fields=["severity"])
    chain = f"policy:{rule.lane.organisation_id}"
    audit_checkpoint(full=True)
    with triggers_dropped():
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s", [chain])
    assert kinds(chain) == {"deleted_chain"}
    AuditChainHead.objects.filter(chain=chain).delete()  # the head is not append-only; the checkpoint is
    assert kinds(chain) == {"deleted_chain"}


def test_rewritten_suffix_with_plain_sha256_and_the_anchor_moved(demo):
    """Fails on the old code: recomputing the suffix's SHA-256 chain and the post's head verified."""
    post, events = _post_chain(demo)
    with triggers_dropped():
        _rewrite_suffix(post, events, events[-2].seq, key=None, key_id="")
    assert ("legacy_unsealed", events[-1].seq) in findings(f"post:{post.id}")
    assert audit_verify()[1] is not None


def test_rewritten_suffix_without_the_key(demo):
    """The attacker keeps the key id but cannot compute the HMAC (here: a guessed key)."""
    post, events = _post_chain(demo)
    with triggers_dropped():
        _rewrite_suffix(post, events, events[-2].seq, key=b"a-guess", key_id=audit_keys().current_id)
    assert findings(f"post:{post.id}") == [("edited_row", events[-2].seq), ("edited_row", events[-1].seq)]


def test_rewritten_suffix_with_the_key_but_not_the_anchor(demo):
    post, events = _post_chain(demo)
    keys = audit_keys()
    with triggers_dropped():
        _rewrite_suffix(post, events, events[-2].seq, key=keys.current, key_id=keys.current_id, move_anchor=False)
    assert findings(f"post:{post.id}") == [("rewritten_suffix", events[-1].seq)]


def test_rewritten_suffix_with_the_key_and_the_anchor_is_caught_by_the_checkpoint(demo):
    """Even someone holding the key cannot rewrite what a checkpoint already signed."""
    post, events = _post_chain(demo)
    audit_checkpoint(full=True)
    keys = audit_keys()
    with triggers_dropped():
        _rewrite_suffix(post, events, events[-2].seq, key=keys.current, key_id=keys.current_id)
    assert findings(f"post:{post.id}") == [("rewritten_suffix", events[-1].seq)]


def test_events_beyond_the_anchor_are_a_missing_anchor(demo):
    """An event inserted at the end (valid HMAC, say by someone with the key) that the post's
    own head does not account for."""
    post, events = _post_chain(demo)
    keys = audit_keys()
    last = events[-1]
    extra = AuditEvent(chain=last.chain, seq=last.seq + 1, organisation_id=last.organisation_id, post_id=post.id,
                       verb="approved", data={}, created_at=last.created_at, prev_hash=last.hash,
                       key_id=keys.current_id)
    extra.hash = compute_hash(extra, keys)
    extra.save(force_insert=True)
    assert findings(f"post:{post.id}") == [("missing_anchor", last.seq + 1)]


def test_a_policy_chain_without_its_head_is_a_missing_anchor(demo):
    rule = GuidelineRule.objects.filter(lane=demo.lane("conversation")).first()
    ev = policy_record_change(obj=rule, actor=demo.admin, action="changed", changed_fields=["severity"])
    AuditChainHead.objects.filter(chain=ev.chain).delete()
    assert findings(ev.chain) == [("missing_anchor", ev.seq)]


def test_a_forged_checkpoint_is_reported(demo):
    post, _ = _post_chain(demo)
    audit_checkpoint(full=True)
    cp = AuditCheckpoint.objects.get(chain=f"post:{post.id}")
    with triggers_dropped():
        _sql("UPDATE workflows_auditcheckpoint SET signature = %s WHERE id = %s", ["0" * 64, cp.id])
    assert findings(f"post:{post.id}") == [("bad_checkpoint", cp.seq)]
    # The checkpoint task neither trusts the forged row nor crashes on it.
    assert audit_checkpoint(full=True)["refused"] == 1


def test_checkpoints_are_append_only(demo):
    _post_chain(demo)
    audit_checkpoint(full=True)
    cp = AuditCheckpoint.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql("DELETE FROM workflows_auditcheckpoint WHERE id = %s", [cp.id])


def test_verify_audit_reports_every_finding_per_chain_and_exits_non_zero(demo, capsys):
    post_a, events_a = _post_chain(demo)
    post_b, _ = _post_chain(demo)
    with triggers_dropped():
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s AND seq = %s", [f"post:{post_a.id}", events_a[-1].seq])
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s", [f"post:{post_b.id}"])
    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")
    assert "deleted_tail" in str(exc.value) and "deleted_chain" in str(exc.value)
    out = capsys.readouterr().out
    assert f"post:{post_a.id}:\n  deleted_tail seq {events_a[-1].seq}" in out
    assert f"post:{post_b.id}:\n  deleted_chain" in out


def test_verify_audit_exit_code_is_non_zero(demo):
    """As an operator's cron job runs it: `manage.py verify_audit` exits 1."""
    from django.core.management import execute_from_command_line

    post, events = _post_chain(demo)
    with triggers_dropped():
        _sql("DELETE FROM workflows_auditevent WHERE chain = %s AND seq = %s", [f"post:{post.id}", events[-1].seq])
    with pytest.raises(SystemExit) as exc:
        execute_from_command_line(["manage.py", "verify_audit"])
    assert exc.value.code == 1


# --- legacy rows, key rotation, the key in production ---------------------------------------

def _legacy_chain(demo):
    """A post's chain as the old code wrote it: plain SHA-256, no key id."""
    post, events = _post_chain(demo)
    with triggers_dropped():
        prev = ""
        for ev in events:
            ev.prev_hash = prev
            ev.hash = _forge(ev, key=None, key_id="")
            _sql("UPDATE workflows_auditevent SET prev_hash = %s, hash = %s, key_id = '' WHERE id = %s",
                 [ev.prev_hash, ev.hash, ev.id])
            prev = ev.hash
        _sql("UPDATE workflows_post SET audit_head = %s WHERE id = %s", [prev, post.id])
        _sql("DELETE FROM workflows_auditcheckpoint WHERE chain = %s", [f"post:{post.id}"])
    return post, events


def test_unkeyed_events_are_findings_and_never_sealed(demo):
    """The upgrade that sealed pre-key chains is squashed away (issue 23: no database of that age
    remains), but an event hashed the old way, without the key, is still a finding: a downgrade."""
    post, events = _legacy_chain(demo)
    assert kinds(f"post:{post.id}") == {"legacy_unsealed"}
    post, events = _post_chain(demo)
    assert findings(f"post:{post.id}") == []
    post = Post.objects.get(id=post.id)
    last = events[-1]
    extra = AuditEvent(chain=last.chain, seq=last.seq + 1, organisation_id=last.organisation_id, post_id=post.id,
                       verb="approved", data={}, created_at=last.created_at, prev_hash=post.audit_head, key_id="")
    extra.hash = compute_hash(extra)
    extra.save(force_insert=True)
    Post.objects.filter(id=post.id).update(audit_seq=extra.seq, audit_head=extra.hash)
    assert findings(f"post:{post.id}") == [("legacy_unsealed", extra.seq)]
    assert audit_checkpoint(full=True)["refused"] >= 1  # the beat task does not bless it either


def test_key_rotation_keeps_old_events_verifiable(demo, settings):
    post, events = _post_chain(demo)
    old_key = settings.AUDIT_HMAC_KEY
    settings.AUDIT_HMAC_KEY = "rotated-key-9f8e7d6c5b4a3210-zyxwvutsrqponmlk"
    settings.AUDIT_HMAC_OLD_KEYS = [old_key]
    assert audit_keys().current_id == key_fingerprint(settings.AUDIT_HMAC_KEY)
    from workflows.services.posts import post_withdraw

    post2 = f.at_review(demo)
    post_withdraw(post_id=post2.id, by=demo.dana)
    new_ev = AuditEvent.objects.filter(chain=f"post:{post2.id}").order_by("-seq").first()
    assert new_ev.key_id == key_fingerprint(settings.AUDIT_HMAC_KEY) != events[0].key_id
    assert audit_verify_report().ok
    settings.AUDIT_HMAC_OLD_KEYS = []  # the old key forgotten: its events can no longer be checked
    assert ("unknown_key", 1) in findings(f"post:{post.id}")


def test_the_key_is_required_when_debug_is_off(demo, settings):
    settings.DEBUG = False
    settings.AUDIT_HMAC_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="AUDIT_HMAC_KEY"):
        f.at_review(demo)
    assert any(m.id == "parley.E101" for m in run_checks(include_deployment_checks=True))
    settings.AUDIT_HMAC_KEY = "short"
    assert any(m.id == "parley.E102" for m in run_checks(include_deployment_checks=True))
    settings.DEBUG = True  # a trial: a key derived from SECRET_KEY
    settings.AUDIT_HMAC_KEY = ""
    assert audit_keys().current_id == key_fingerprint(
        hmac.new(settings.SECRET_KEY.encode(), b"parley.audit.hmac-key.v1", hashlib.sha256).hexdigest())


def test_the_checkpoint_task_is_scheduled(settings):
    from config.celery import AUDIT_CHECKPOINT, app
    from workflows import tasks

    assert any(e["task"] == AUDIT_CHECKPOINT for e in app.conf.beat_schedule.values())
    assert tasks.audit_checkpoint.name == AUDIT_CHECKPOINT


def test_the_embedded_sqlite_database_keeps_both_tables_append_only(tmp_path):
    """The append-only triggers of both tables exist on the embedded SQLite database after
    `migrate` (workflows/migrations/0002_database_rules). SQLite drops a table's triggers when a
    migration rebuilds it: a later migration that alters these tables must create them again."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    db = tmp_path / "trial.sqlite3"
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{db}", "REDIS_URL": "",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True, timeout=240)
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert names >= {"workflows_auditevent_no_update", "workflows_auditevent_no_delete",
                         "workflows_auditcheckpoint_no_update", "workflows_auditcheckpoint_no_delete"}
        conn.execute("INSERT INTO workflows_auditcheckpoint (chain, seq, head, created_at, key_id, signature) "
                     "VALUES ('post:1', 1, 'h', '2026-01-01', 'k', 's')")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM workflows_auditcheckpoint")
