"""``flush`` as the suite runs it after every transactional test: Django's, in one transaction.

Django's flush empties every table (TRUNCATE on PostgreSQL) and then re-creates the content types,
permissions and roles through ``post_migrate``, each statement committed on its own: on PostgreSQL
about 100 commits, half a second per test. Here the same statements run in one transaction, and on
PostgreSQL the tables are emptied with DELETE (TRUNCATE gives every table and index a new file; the
suite's tables hold a few rows). The end state is the same: every table emptied, sequences kept, the
``post_migrate`` rows back.
"""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import connections, transaction


class Command(flush.Command):
    def handle(self, **options):
        database = options["database"]
        connection = connections[database]
        with transaction.atomic(using=database):
            if connection.vendor == "postgresql" and not options["reset_sequences"]:
                connection.ops.sql_flush = _deleting(connection)  # this instance only, until the finally
                try:
                    return super().handle(**options)
                finally:
                    del connection.ops.sql_flush
            return super().handle(**options)


def _deleting(connection):
    """`sql_flush` that empties the tables with DELETE; the foreign keys are checked at commit (Django
    creates them DEFERRABLE INITIALLY DEFERRED), so the order does not matter."""

    def sql_flush(style, tables, *, reset_sequences=False, allow_cascade=False):
        quote = connection.ops.quote_name
        return ["SET CONSTRAINTS ALL DEFERRED", *(f"DELETE FROM {quote(table)}" for table in tables)]  # noqa: S608 - table names from the models

    return sql_flush
