"""Ed25519 keys and the checkpoint record: what is signed, its digest, its signature. No Django here.

A checkpoint record is one JSON object, the same in the database, in its file and in exports:

    {"type": "checkpoint", "version": 1, "number": 3, "last_seq": 37, "event_count": 37,
     "head_hash": "<hash of event 37>", "at": "2025-03-01T10:00:00.000000+00:00",
     "previous_digest": "<digest of checkpoint 2; 64 zeros for the first>",
     "key_id": "<16 hex digits>", "digest": "<64 hex digits>", "signature": "<base64>"}

The *signed bytes* are the canonical JSON (sorted keys, no spaces, ASCII) of the `SIGNED_FIELDS`;
``digest`` is their SHA-256 (hex), ``signature`` their Ed25519 signature (base64), ``key_id`` the
first 16 hex digits of the SHA-256 of the raw public key. Keys are written as the base64 of their
32 raw bytes (PEM is read too).

`scripts/verify_audit_export.py` repeats these rules for auditors, without Django; keep them equal
(tests/audit/test_export_verifier.py checks that they agree).
"""

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

RECORD_TYPE = "checkpoint"
VERSION = 1
GENESIS_DIGEST = "0" * 64
SIGNED_FIELDS = ("version", "number", "last_seq", "event_count", "head_hash", "at", "previous_digest", "key_id")
RECORD_FIELDS = ("type", *SIGNED_FIELDS, "digest", "signature")
HEX64 = re.compile(r"[0-9a-f]{64}")

NOT_A_KEY = "{what} is not an Ed25519 key: expected the base64 of its 32 raw bytes, or PEM."
MALFORMED = "not a checkpoint record: {problem}"
DIGEST_MISMATCH = "its digest does not match its content"
UNKNOWN_KEY = "it is signed with a key that is not trusted (key id {key_id})"
BAD_SIGNATURE = "its signature does not verify with the public key {key_id}"


class KeyFormatError(ValueError):
    """A key that cannot be read (the message never contains the key)."""


def _raw(text: str, what: str) -> bytes:
    # Standard or URL-safe base64, padded or not.
    cleaned = "".join(text.split()).rstrip("=").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(NOT_A_KEY.format(what=what)) from None
    if len(raw) != 32:
        raise KeyFormatError(NOT_A_KEY.format(what=what))
    return raw


def private_key_from_text(text: str, *, what: str = "The signing key") -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            raise KeyFormatError(NOT_A_KEY.format(what=what)) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFormatError(NOT_A_KEY.format(what=what))
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw(text, what))


def public_key_from_text(text: str, *, what: str = "A verify key") -> Ed25519PublicKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError):
            raise KeyFormatError(NOT_A_KEY.format(what=what)) from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFormatError(NOT_A_KEY.format(what=what))
        return key
    return Ed25519PublicKey.from_public_bytes(_raw(text, what))


def private_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode(
        "ascii"
    )


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def keys_by_id(keys: list[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    return {key_id(key): key for key in keys}


def signed_bytes(fields: dict[str, Any]) -> bytes:
    content = {name: fields[name] for name in SIGNED_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode(
        "ascii"
    )


def checkpoint_sign(fields: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The whole record of a checkpoint: `fields` (every signed field but ``key_id``), signed."""
    fields = {**fields, "version": VERSION, "key_id": key_id(private_key.public_key())}
    payload = signed_bytes(fields)
    return {
        "type": RECORD_TYPE,
        **{name: fields[name] for name in SIGNED_FIELDS},
        "digest": hashlib.sha256(payload).hexdigest(),
        "signature": base64.b64encode(private_key.sign(payload)).decode("ascii"),
    }


def checkpoint_problem(record: Any, keys: dict[str, Ed25519PublicKey]) -> str | None:
    """What is wrong with a checkpoint record (malformed, digest, key, signature), or None if it is sound."""
    malformed = _malformed(record)
    if malformed:
        return MALFORMED.format(problem=malformed)
    payload = signed_bytes(record)
    if hashlib.sha256(payload).hexdigest() != record["digest"]:
        return DIGEST_MISMATCH
    key = keys.get(record["key_id"])
    if key is None:
        return UNKNOWN_KEY.format(key_id=record["key_id"])
    try:
        key.verify(base64.b64decode(record["signature"], validate=True), payload)
    except (InvalidSignature, binascii.Error, ValueError):
        return BAD_SIGNATURE.format(key_id=record["key_id"])
    return None


def _malformed(record: Any) -> str:
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [name for name in RECORD_FIELDS if name not in record]
    if missing:
        return f"{', '.join(missing)} missing"
    if record["type"] != RECORD_TYPE or record["version"] != VERSION:
        return f"type {record['type']!r} version {record['version']!r}"
    for name in ("number", "last_seq", "event_count"):
        if not isinstance(record[name], int) or isinstance(record[name], bool) or record[name] < 1:
            return f"{name} is not a positive whole number"
    for name in ("head_hash", "previous_digest", "digest"):
        if not isinstance(record[name], str) or not HEX64.fullmatch(record[name]):
            return f"{name} is not 64 hex digits"
    for name in ("at", "key_id", "signature"):
        if not isinstance(record[name], str):
            return f"{name} is not text"
    return ""
