"""The database itself refuses UPDATE and DELETE on the audit trail."""
from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION parley_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'workflows_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workflows_auditevent_append_only
    BEFORE UPDATE OR DELETE ON workflows_auditevent
    FOR EACH ROW EXECUTE FUNCTION parley_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS workflows_auditevent_append_only ON workflows_auditevent;
DROP FUNCTION IF EXISTS parley_audit_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER workflows_auditevent_no_update BEFORE UPDATE ON workflows_auditevent
       BEGIN SELECT RAISE(ABORT, 'workflows_auditevent is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER workflows_auditevent_no_delete BEFORE DELETE ON workflows_auditevent
       BEGIN SELECT RAISE(ABORT, 'workflows_auditevent is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS workflows_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS workflows_auditevent_no_delete;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
