"""A JSON column read as its stored text, or only as the digest of that text, computed by the database.

A page whose derived values are kept (`flowadmin.derived`) needs only what names its document: the
digest, not the megabyte of text (sent, decoded into a string and hashed on every request).
"""

from django.db.models import CharField, Func, TextField
from django.db.models.functions import Cast


class TextDigest(Func):
    """sha256 (hex) of a text: what `documents.text_digest` gives for it in Python."""

    function = "SHA256"  # SQLite: the function Django registers on each connection
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "ENCODE(SHA256(CONVERT_TO(%(expressions)s, 'UTF8')), 'hex')"  # built in since PostgreSQL 11
        return self.as_sql(compiler, connection, template=template, **extra_context)


def stored_text(field: str) -> Cast:
    return Cast(field, TextField())


def stored_digest(field: str) -> TextDigest:
    return TextDigest(stored_text(field))
