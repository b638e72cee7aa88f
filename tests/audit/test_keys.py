"""Keys for checkpoints: made by audit_keygen, read from the environment or a file, checked by `check`."""

import io
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.core import checks
from django.core.management import CommandError, call_command

from flowadmin.audit import signing
from flowadmin.audit.services import audit_record
from flowadmin.audit.verification import audit_log_verify

from .factories import bulk_events


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def audit_errors(*, deploy: bool) -> list[str]:
    """The audit app's own checks (the other apps' deploy checks read the database: not wanted here)."""
    return [
        message.id
        for message in checks.run_checks(include_deployment_checks=deploy, tags=["audit"])
        if message.id.startswith("audit.")
    ]


def test_keygen_writes_a_private_key_only_its_owner_can_read_and_prints_the_public_key(tmp_path):
    path = tmp_path / "keys" / "audit-signing.key"

    output = run("audit_keygen", str(path))

    assert path.stat().st_mode & 0o777 == 0o600
    private = signing.private_key_from_text(path.read_text())
    public = signing.public_key_text(private.public_key())
    assert output.splitlines()[-1] == public
    assert f"AUDIT_SIGNING_KEY_FILE={path}" in output
    assert f"AUDIT_VERIFY_KEY={public}" in output
    assert signing.private_key_text(private) not in output  # the secret is never printed


def test_keygen_never_overwrites_a_key(tmp_path):
    path = tmp_path / "audit-signing.key"
    path.write_text("the key in use\n")

    with pytest.raises(CommandError, match="exists already"):
        run("audit_keygen", str(path))

    assert path.read_text() == "the key in use\n"


@pytest.mark.django_db(transaction=True)
def test_a_key_made_by_keygen_signs_checkpoints_that_its_public_key_alone_verifies(settings, tmp_path):
    path = tmp_path / "audit-signing.key"
    public = run("audit_keygen", str(path)).splitlines()[-1]
    settings.AUDIT_SIGNING_KEY, settings.AUDIT_SIGNING_KEY_FILE = "", str(path)
    settings.AUDIT_VERIFY_KEY = [public]
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    bulk_events(4)

    assert "Checkpoint #1 written: events #1..#4" in run("audit_checkpoint")
    assert "Nothing recorded since the last checkpoint" in run("audit_checkpoint")
    assert run("audit_keygen", "--show").splitlines()[-1] == public
    keys = signing.keys_by_id([signing.public_key_from_text(public)])
    assert audit_log_verify(keys=keys, directory=tmp_path / "checkpoints").verified_through == 4


@pytest.mark.django_db
def test_audit_checkpoint_refuses_plainly_without_a_key(settings):
    settings.DEBUG = False
    settings.AUDIT_SIGNING_KEY = settings.AUDIT_SIGNING_KEY_FILE = ""
    audit_record(action="change.proposed")

    with pytest.raises(CommandError, match="no signing key is configured"):
        run("audit_checkpoint")


def test_keys_are_read_as_base64_or_pem_and_a_bad_one_is_refused_without_being_echoed():
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    raw = signing.private_key_text(private)

    for text in (raw, raw.rstrip("="), raw.replace("+", "-").replace("/", "_"), pem):
        assert signing.key_id(signing.private_key_from_text(text).public_key()) == signing.key_id(private.public_key())
    with pytest.raises(signing.KeyFormatError) as refused:
        signing.private_key_from_text("c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0")
    assert "c2VjcmV0" not in str(refused.value)


def test_check_deploy_requires_a_signing_key_and_a_checkpoint_directory(settings):
    settings.AUDIT_SIGNING_KEY = settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.AUDIT_CHECKPOINT_DIR = ""

    assert audit_errors(deploy=True) == ["audit.E001", "audit.E002"]
    assert audit_errors(deploy=False) == []


def test_check_refuses_an_unreadable_key_and_warns_when_the_verify_key_does_not_match(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY, settings.AUDIT_SIGNING_KEY_FILE = "", str(tmp_path / "missing.key")
    assert audit_errors(deploy=False) == ["audit.E003"]

    settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(Ed25519PrivateKey.generate())
    settings.AUDIT_VERIFY_KEY = [signing.public_key_text(Ed25519PrivateKey.generate().public_key())]
    assert audit_errors(deploy=False) == ["audit.W001"]

    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path)
    settings.AUDIT_VERIFY_KEY = []
    assert audit_errors(deploy=True) == []


def test_a_production_process_without_a_key_fails_check_deploy_naming_the_setting(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "flowadmin.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "flowadmin.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "audit.E001" in result.stderr and "AUDIT_SIGNING_KEY" in result.stderr
    assert "audit.E002" in result.stderr and "AUDIT_CHECKPOINT_DIR" in result.stderr
