"""The domain rules of a flow spec document: pure functions, no I/O (but reading the JSON Schema once).

    from flowadmin import documents
    documents.put_body(document)          # body.py: the PUT body, canonical JSON, content / metadata hash, source ids
    documents.json_patch(old, new)        # patch.py: RFC 6902 operations
    documents.line_diff(old, new)         # diff.py: line diffs of the printed documents (LineDiff.whole: folded)
    documents.pretty_json(document)       # printing.py: json.dumps(indent=2, sort_keys=True)'s text, faster
    documents.validate_document(body)     # schema.py: specs/flowspec.schema.json
    documents.id_key(spec_id)             # ids.py: the one rule for comparing and reading ids
    documents.Kept(size)                  # kept.py: values derived from documents, kept per content hash

Nothing here imports the rest of flowadmin (tests/project/test_architecture.py).
"""

from flowadmin.documents.body import (
    READ_ONLY_FIELDS,
    SOURCE_IDS_FIELD,
    canonical_json,
    content_hash,
    metadata_hash,
    pretty_json,
    put_body,
    shared_with,
    source_ids,
    with_source_ids,
)
from flowadmin.documents.diff import (
    DiffLine,
    FoldedRun,
    LineDiff,
    PrettyText,
    line_diff,
    pretty_text,
    pretty_text_kept,
    printed_forget,
)
from flowadmin.documents.ids import UUID, id_key, id_keys, normalise
from flowadmin.documents.kept import Kept, decoded, text_digest
from flowadmin.documents.patch import json_patch
from flowadmin.documents.schema import SCHEMA_PATH, json_path, validate_document

__all__ = [
    "READ_ONLY_FIELDS",
    "SCHEMA_PATH",
    "SOURCE_IDS_FIELD",
    "UUID",
    "DiffLine",
    "FoldedRun",
    "Kept",
    "LineDiff",
    "PrettyText",
    "canonical_json",
    "content_hash",
    "decoded",
    "id_key",
    "id_keys",
    "json_patch",
    "json_path",
    "line_diff",
    "metadata_hash",
    "normalise",
    "pretty_json",
    "pretty_text",
    "pretty_text_kept",
    "printed_forget",
    "put_body",
    "shared_with",
    "source_ids",
    "text_digest",
    "validate_document",
    "with_source_ids",
]
