"""New rows of one model inserted in bulk when their primary keys are not needed back: on PostgreSQL
by one ``COPY ... FROM STDIN``, elsewhere by ``bulk_create``.

A first sync inserts about 70 rows per sandbox (its connection specs, its flow specs' attachments and
versions). ``bulk_create`` builds and compiles an INSERT of every value through the ORM; COPY sends the
rows as they are, about a tenth of the client's CPU for the same rows. Each value is still prepared by
its field (``pre_save``, ``get_db_prep_save``), as a save would: defaults, JSON, times.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

BATCH_SIZE = 500  # of bulk_create, where COPY is not used


def rows_copy(rows: Sequence[models.Model]) -> None:
    """Insert ``rows`` (unsaved instances of one model, auto primary keys left to the database); their
    ``pk`` stays None. Runs in the caller's transaction, if any."""
    if not rows:
        return
    model = type(rows[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        return
    from psycopg import sql  # the PostgreSQL driver, there only

    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(field.column) for field in fields)
    )
    for row in rows:
        row._prepare_related_fields_for_save(operation_name="rows_copy")  # as bulk_create: no unsaved parent
    # The driver's own cursor, its errors turned into Django's (IntegrityError, OperationalError) as
    # the ORM's are: callers and task retries catch those.
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields])
