"""Rules the database itself keeps, as frozen SQL (no live code): the audit trail and its
checkpoints are append-only (UPDATE and DELETE refused), and on PostgreSQL every transaction that
inserts outbox rows sends NOTIFY parley_outbox at its commit (the relay's wake-up; other databases
have no NOTIFY, the beat relay suffices there).

Idempotent, so a database migrated through the history before the squash (which already has
these) takes it too. SQLite drops a table's triggers when a later migration rebuilds that table:
such a migration must create them again (copy the statements below)."""
from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION parley_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'workflows_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS workflows_auditevent_append_only ON workflows_auditevent;
CREATE TRIGGER workflows_auditevent_append_only
    BEFORE UPDATE OR DELETE ON workflows_auditevent
    FOR EACH ROW EXECUTE FUNCTION parley_audit_append_only();

CREATE OR REPLACE FUNCTION parley_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS workflows_auditcheckpoint_append_only ON workflows_auditcheckpoint;
CREATE TRIGGER workflows_auditcheckpoint_append_only
    BEFORE UPDATE OR DELETE ON workflows_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION parley_append_only();

CREATE OR REPLACE FUNCTION workflows_outboxevent_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS workflows_outboxevent_notify ON workflows_outboxevent;
CREATE TRIGGER workflows_outboxevent_notify AFTER INSERT ON workflows_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION workflows_outboxevent_notify();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS workflows_outboxevent_notify ON workflows_outboxevent;
DROP FUNCTION IF EXISTS workflows_outboxevent_notify();
DROP TRIGGER IF EXISTS workflows_auditcheckpoint_append_only ON workflows_auditcheckpoint;
DROP FUNCTION IF EXISTS parley_append_only();
DROP TRIGGER IF EXISTS workflows_auditevent_append_only ON workflows_auditevent;
DROP FUNCTION IF EXISTS parley_audit_append_only();
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END;"""
    for table in ("workflows_auditevent", "workflows_auditcheckpoint") for op in ("UPDATE", "DELETE")
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()};"
    for table in ("workflows_auditevent", "workflows_auditcheckpoint") for op in ("UPDATE", "DELETE")
]


def forward(apps, schema_editor):
    # A vendor fork with a reason: the two databases write triggers in different languages, and
    # only PostgreSQL has NOTIFY.
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
