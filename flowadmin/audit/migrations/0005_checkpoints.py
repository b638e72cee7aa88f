"""Signed checkpoints of the audit chain, and the outcome of full verifications.

On PostgreSQL the checkpoint table gets the events' protection: triggers refuse UPDATE, DELETE and
TRUNCATE (TRUNCATE of an empty table is let through: test databases are flushed that way).
Removing them needs the table owner or a superuser; and even they cannot forge a checkpoint,
whose signature needs a key the database never holds.
"""

from django.db import migrations, models

INSTALL_TRIGGERS = """
CREATE OR REPLACE FUNCTION audit_checkpoint_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF NOT EXISTS (SELECT 1 FROM audit_checkpoint) THEN
            RETURN NULL;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_checkpoint is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Checkpoints can only be appended (flowadmin.audit.checkpoints.checkpoint_if_new).';
END;
$$;
CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_refuse_change();
CREATE TRIGGER audit_checkpoint_no_truncate
    BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_refuse_change();
"""

REMOVE_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint;
DROP FUNCTION IF EXISTS audit_checkpoint_refuse_change();
"""


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """RunSQL that does nothing on other database vendors."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_search_terms'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField()),
                ('ok', models.BooleanField()),
                ('events_checked', models.BigIntegerField()),
                ('head_seq', models.BigIntegerField()),
                ('checkpoints_checked', models.BigIntegerField()),
                ('verified_through', models.BigIntegerField(help_text='Every event up to this one matched a signed checkpoint.')),
                ('checkpoint_number', models.BigIntegerField(blank=True, null=True)),
                ('checkpoint_at', models.DateTimeField(blank=True, null=True)),
                ('first_problem_seq', models.BigIntegerField(blank=True, null=True)),
                ('problem_count', models.BigIntegerField(default=0)),
                ('problems', models.JSONField(default=list, help_text='The first problems found, as sentences.')),
                ('seconds', models.FloatField()),
            ],
            options={
                'db_table': 'audit_verification',
                'ordering': ['-id'],
                'default_permissions': ('view',),
            },
        ),
        migrations.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('number', models.BigIntegerField(help_text='Gap-free position of the checkpoint, from 1.', primary_key=True, serialize=False)),
                ('version', models.PositiveSmallIntegerField()),
                ('last_seq', models.BigIntegerField(help_text='The last event it covers.', unique=True)),
                ('event_count', models.BigIntegerField()),
                ('head_hash', models.CharField(help_text='The hash of event last_seq.', max_length=64)),
                ('at', models.DateTimeField()),
                ('previous_digest', models.CharField(max_length=64, unique=True)),
                ('key_id', models.CharField(max_length=16)),
                ('digest', models.CharField(max_length=64, unique=True)),
                ('signature', models.CharField(max_length=128)),
            ],
            options={
                'db_table': 'audit_checkpoint',
                'ordering': ['-number'],
                'default_permissions': ('view',),
                'base_manager_name': 'objects',
                'constraints': [models.CheckConstraint(condition=models.Q(('number__gte', 1)), name='audit_checkpoint_number_positive'), models.CheckConstraint(condition=models.Q(('last_seq__gte', 1)), name='audit_checkpoint_last_seq_positive')],
            },
        ),
        RunSQLOnPostgreSQL(INSTALL_TRIGGERS, REMOVE_TRIGGERS),
    ]
