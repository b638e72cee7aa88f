"""Model fields for large documents: bulk-inserted on PostgreSQL as rows of VALUES, not as UNNEST arrays.

Django 5.2 inserts several rows at once on PostgreSQL as ``UNNEST(%s::jsonb[], ...)``: each column's
values go as one array literal, and psycopg escapes every quote of every document in it with a regular
expression, one substitution per quote. A flow spec document holds thousands of quotes: a first sync
of 200 sandboxes spent a third of its CPU there. A column with its own placeholder (``get_placeholder``)
keeps the insert on VALUES rows, where each document is quoted in one call of libpq.
"""

from __future__ import annotations

from django.db import models


class _ValuesRows:
    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"


class DocumentField(_ValuesRows, models.JSONField):
    """A JSON document (a flow spec, an audit event's before and after, its HTTP exchanges)."""


class DocumentTextField(_ValuesRows, models.TextField):
    """A JSON document kept as its text."""
