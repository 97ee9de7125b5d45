"""Wake the relay when outbox rows commit: PostgreSQL sends NOTIFY parley_outbox at the commit
of every transaction that inserted outbox rows (and never for one that rolled back). The trigger
runs once per statement, inside the writer's transaction, so the writer pays no extra round trip.
Other databases have no NOTIFY: there the beat relay (and the embedded in-process relay) suffice."""
from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION workflows_outboxevent_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workflows_outboxevent_notify AFTER INSERT ON workflows_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION workflows_outboxevent_notify();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS workflows_outboxevent_notify ON workflows_outboxevent;
DROP FUNCTION IF EXISTS workflows_outboxevent_notify();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0002_audit_append_only")]
    operations = [migrations.RunPython(forward, backward)]
