"""Which key signs checkpoints and which keys verify them, from settings (never from the database).

Signing: ``AUDIT_SIGNING_KEY`` (the key itself), else ``AUDIT_SIGNING_KEY_FILE`` (a file holding it),
else, under ``DEBUG`` only, a development key kept in ``AUDIT_DEV_KEY_FILE`` (made on first use),
else none: then no checkpoint is written (``check --deploy`` reports it).
Verifying: ``AUDIT_VERIFY_KEY`` (a comma list) and ``AUDIT_VERIFY_KEY_FILE`` (one key a line), else
the public key of the signing key.
"""

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from flowadmin.audit import signing
from flowadmin.audit.files import write_new

SOURCE_SETTING = "AUDIT_SIGNING_KEY"
SOURCE_FILE = "AUDIT_SIGNING_KEY_FILE"
SOURCE_DEVELOPMENT = "development"
UNREADABLE_FILE = "{setting} names a file that cannot be read: {path} ({error})."


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    key_id: str
    source: str  # SOURCE_SETTING, SOURCE_FILE or SOURCE_DEVELOPMENT
    path: str = ""  # the file it came from, if any


def signing_key() -> SigningKey | None:
    """The key checkpoints are signed with, or None when there is none. ImproperlyConfigured if unreadable."""
    return _signing_key(
        settings.AUDIT_SIGNING_KEY,
        settings.AUDIT_SIGNING_KEY_FILE,
        bool(settings.DEBUG),
        str(settings.AUDIT_DEV_KEY_FILE),
    )


def verify_keys(given: tuple[str, ...] = ()) -> dict[str, Ed25519PublicKey]:
    """The trusted public keys by key id: those `given` (base64 or PEM texts), else the configured ones."""
    if given:
        try:
            return signing.keys_by_id([signing.public_key_from_text(text, what="A --public-key") for text in given])
        except signing.KeyFormatError as error:
            raise ImproperlyConfigured(str(error)) from None
    keys = _verify_keys(tuple(settings.AUDIT_VERIFY_KEY), settings.AUDIT_VERIFY_KEY_FILE)
    if keys:
        return keys
    key = signing_key()
    return {key.key_id: key.public} if key else {}


def configured_key_source() -> str:
    """Where a signing key would come from, without reading it: a setting, a file, development, or ""."""
    if settings.AUDIT_SIGNING_KEY:
        return SOURCE_SETTING
    if settings.AUDIT_SIGNING_KEY_FILE:
        return SOURCE_FILE
    return SOURCE_DEVELOPMENT if settings.DEBUG else ""


@functools.lru_cache(maxsize=8)
def _signing_key(text: str, path: str, debug: bool, dev_path: str) -> SigningKey | None:
    if text:
        source = SOURCE_SETTING
    elif path:
        source, text = SOURCE_FILE, _read(path, SOURCE_FILE)
    elif debug:
        source, path, text = SOURCE_DEVELOPMENT, dev_path, _development_key(Path(dev_path))
    else:
        return None
    try:
        private = signing.private_key_from_text(text, what=f"The signing key ({source})")
    except signing.KeyFormatError as error:
        raise ImproperlyConfigured(str(error)) from None
    public = private.public_key()
    return SigningKey(private=private, public=public, key_id=signing.key_id(public), source=source, path=path)


@functools.lru_cache(maxsize=8)
def _verify_keys(texts: tuple[str, ...], path: str) -> dict[str, Ed25519PublicKey]:
    lines = list(texts)
    if path:
        lines += _read(path, "AUDIT_VERIFY_KEY_FILE").splitlines()
    try:
        keys = [
            signing.public_key_from_text(line, what="A verify key (AUDIT_VERIFY_KEY)") for line in lines if line.strip()
        ]
    except signing.KeyFormatError as error:
        raise ImproperlyConfigured(str(error)) from None
    return signing.keys_by_id(keys)


def _read(path: str, setting: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as error:
        raise ImproperlyConfigured(UNREADABLE_FILE.format(setting=setting, path=path, error=error.strerror)) from None


def _development_key(path: Path) -> str:
    """The development key in `path`, made (readable by its owner only) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = signing.private_key_text(Ed25519PrivateKey.generate()) + "\n"
        write_new(path, text.encode("ascii"), mode=0o600, exist_ok=True)
    return _read(str(path), "AUDIT_DEV_KEY_FILE")


def key_file_write(path: Path, private: Ed25519PrivateKey) -> None:
    """Write a new private key to `path`, readable by its owner only; never over an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_new(path, (signing.private_key_text(private) + "\n").encode("ascii"), mode=0o600)
    os.chmod(path, 0o600)
