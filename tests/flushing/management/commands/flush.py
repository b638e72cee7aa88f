"""``flush`` as the suite runs it after every transactional test: Django's, in one transaction, and
without re-creating what ``post_migrate`` made when nothing changed it.

Django's flush empties every table (TRUNCATE on PostgreSQL) and then re-creates the content types,
permissions, roles and task schedules through ``post_migrate``, each statement committed on its own:
on PostgreSQL about 100 commits, half a second per test. Here:

* the statements run in one transaction, and on PostgreSQL the tables are emptied with DELETE
  (TRUNCATE gives every table and index a new file; the suite's tables hold a few rows);
* the tables ``post_migrate`` fills (`KEPT`) are left as they are, and ``post_migrate`` is not sent,
  when their rows are exactly those the last full flush left (a test that changed a role, a
  permission or a schedule gets the full flush after it). ``post_migrate`` costs most of a flush
  even when every row it would create is there.

The end state is the same: every other table emptied, sequences kept, the ``post_migrate`` rows as
``post_migrate`` makes them.
"""

from __future__ import annotations

import hashlib

from django.core.management.commands import flush
from django.db import connections, transaction

# What post_migrate fills: content types, permissions, the roles (groups and their permissions),
# the background task schedules.
KEPT = ("django_content_type", "auth_permission", "auth_group", "auth_group_permissions", "django_q_schedule")
_left_by_full_flush: dict[str, str] = {}  # database alias -> digest of the KEPT tables' rows


class Command(flush.Command):
    def handle(self, **options):
        database = options["database"]
        connection = connections[database]
        with transaction.atomic(using=database):
            keep = not options.get("inhibit_post_migrate") and _left_by_full_flush.get(database) == _digest(connection)
            if keep:
                options["inhibit_post_migrate"] = True
            connection.ops.sql_flush = _flushing(connection, keep=keep)  # this instance only, until the finally
            try:
                result = super().handle(**options)
            finally:
                del connection.ops.sql_flush
            if not keep and not options.get("inhibit_post_migrate"):
                _left_by_full_flush[database] = _digest(connection)
            return result


def _digest(connection) -> str:
    """A digest of every row of the KEPT tables (a few hundred rows)."""
    digest = hashlib.sha256()
    quote = connection.ops.quote_name
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in KEPT:
            if table not in existing:
                continue
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY 1")  # noqa: S608 - constant table names
            digest.update(repr((table, cursor.fetchall())).encode())
    return digest.hexdigest()


def _flushing(connection, *, keep: bool):
    """The connection's `sql_flush`, leaving out the KEPT tables when ``keep``; on PostgreSQL emptying
    the tables with DELETE, the foreign keys checked at commit (Django creates them DEFERRABLE
    INITIALLY DEFERRED), so the order does not matter."""
    plain = type(connection.ops).sql_flush.__get__(connection.ops)

    def sql_flush(style, tables, *, reset_sequences=False, allow_cascade=False):
        if keep:
            tables = [table for table in tables if table not in KEPT]
        if connection.vendor != "postgresql" or reset_sequences:
            return plain(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        quote = connection.ops.quote_name
        return ["SET CONSTRAINTS ALL DEFERRED", *(f"DELETE FROM {quote(table)}" for table in tables)]  # noqa: S608 - table names from the models

    return sql_flush
