"""A checkpoint as its signed record, and where its file lives: what the writer, the verifier and exports share."""

import json
from pathlib import Path

from django.conf import settings

from flowadmin.audit import signing
from flowadmin.audit.chain import canonical_timestamp
from flowadmin.audit.models import AuditCheckpoint

FILE_NAME = "checkpoint-{number:012d}.json"


def checkpoint_directory() -> Path | None:
    return Path(settings.AUDIT_CHECKPOINT_DIR) if settings.AUDIT_CHECKPOINT_DIR else None


def checkpoint_path(directory: Path, number: int) -> Path:
    return directory / FILE_NAME.format(number=number)


def checkpoint_record(checkpoint: AuditCheckpoint) -> dict:
    """The checkpoint as its signed record (the shape of its file and of its line in exports)."""
    return {
        "type": signing.RECORD_TYPE,
        **{name: getattr(checkpoint, name) for name in signing.SIGNED_FIELDS if name != "at"},
        "at": canonical_timestamp(checkpoint.at),
        "digest": checkpoint.digest,
        "signature": checkpoint.signature,
    }


def checkpoint_file_bytes(record: dict) -> bytes:
    return (json.dumps(record, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode("ascii")
