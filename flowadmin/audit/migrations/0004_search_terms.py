"""The exact-value index of the free-text filter: the ids (UUIDs) each event's search text holds.

Events written before it are indexed here (`audit_search_terms_backfill`).
"""

import django.db.models.deletion
from django.db import migrations, models


def index_existing_events(apps, schema_editor):
    from flowadmin.audit.services import audit_search_terms_backfill

    audit_search_terms_backfill(
        using=schema_editor.connection.alias,
        event_model=apps.get_model("audit", "AuditEvent"),
        term_model=apps.get_model("audit", "AuditSearchTerm"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_rollout_actions"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSearchTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("term", models.CharField(max_length=36)),
                (
                    "event",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="search_terms",
                        to="audit.auditevent",
                    ),
                ),
            ],
            options={
                "db_table": "audit_search_term",
                "default_permissions": (),
                "constraints": [models.UniqueConstraint(fields=("term", "event"), name="audit_search_term_unique")],
            },
        ),
        migrations.RunPython(index_existing_events, migrations.RunPython.noop, elidable=True),
    ]
