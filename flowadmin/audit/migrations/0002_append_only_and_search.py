"""PostgreSQL only: the database itself refuses to change the audit log, and `q` gets an index.

Triggers refuse UPDATE, DELETE and TRUNCATE on audit_event. The one UPDATE let through is what
`on_delete=SET_NULL` does when a user is deleted: actor_id becomes NULL, every other column
unchanged (the hash does not cover actor_id). TRUNCATE of an already empty table is harmless and
allowed (test databases are flushed that way). Removing these protections needs the table owner
(ALTER TABLE ... DISABLE TRIGGER) or a superuser, which is the point.

The free-text filter does `search_text LIKE '%term%'` on a lower-cased column; a trigram GIN index
serves it when the pg_trgm extension is available (it is a trusted extension since PostgreSQL 13,
so the database owner may create it). Without it, `q` falls back to scanning the other filters'
index ranges, or the table.

On other databases (SQLite in development and tests) this migration does nothing: there the model
and its queryset refuse changes.
"""

from django.db import migrations

INSTALL_TRIGGERS = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'TRUNCATE' THEN
        IF NOT EXISTS (SELECT 1 FROM audit_event) THEN
            RETURN NULL;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events can only be appended (flowadmin.audit.services.audit_record).';
END;
$$;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"""

REMOVE_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;
DROP FUNCTION IF EXISTS audit_event_refuse_change();
"""

TRIGRAM_INDEX = "audit_event_search_trgm"


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """RunSQL that does nothing on other database vendors."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        installed = cursor.fetchone() is not None
        if not installed:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
            if cursor.fetchone() is None:
                return
            cursor.execute("SAVEPOINT audit_trgm")
            try:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except Exception:  # noqa: BLE001 - no privilege: go without the index
                cursor.execute("ROLLBACK TO SAVEPOINT audit_trgm")
                return
            cursor.execute("RELEASE SAVEPOINT audit_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON audit_event USING gin (search_text gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        RunSQLOnPostgreSQL(INSTALL_TRIGGERS, REMOVE_TRIGGERS),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
