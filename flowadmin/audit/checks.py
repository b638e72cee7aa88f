"""System checks of the audit trail's keys and checkpoint directory (``manage.py check [--deploy]``)."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

NO_SIGNING_KEY = checks.Error(
    "No audit signing key is configured: checkpoints of the audit log are not written, so removing the newest "
    "events or rewriting the chain from the database would go unseen.",
    hint="Run manage.py audit_keygen and set AUDIT_SIGNING_KEY_FILE (or AUDIT_SIGNING_KEY) and AUDIT_VERIFY_KEY.",
    id="audit.E001",
)
NO_CHECKPOINT_DIR = checks.Error(
    "AUDIT_CHECKPOINT_DIR is not set: checkpoints are kept in the database only, so removing the newest "
    "checkpoints together with the events they cover would go unseen.",
    hint="Point AUDIT_CHECKPOINT_DIR at storage the database's administrators cannot write.",
    id="audit.E002",
)
KEY_UNREADABLE = "audit.E003"
VERIFY_KEY_MISMATCH = checks.Warning(
    "AUDIT_VERIFY_KEY does not hold the public key of the signing key: new checkpoints will not verify.",
    hint="Add the public key that manage.py audit_keygen --show printed to AUDIT_VERIFY_KEY.",
    id="audit.W001",
)


@checks.register(checks.Tags.security, "audit")
def keys_readable(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A configured key must be readable, and the signing key one that AUDIT_VERIFY_KEY trusts."""
    from flowadmin.audit.keys import signing_key, verify_keys

    if not (
        settings.AUDIT_SIGNING_KEY
        or settings.AUDIT_SIGNING_KEY_FILE
        or settings.AUDIT_VERIFY_KEY
        or settings.AUDIT_VERIFY_KEY_FILE
    ):
        return []
    try:
        key = signing_key()
        trusted = verify_keys()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id=KEY_UNREADABLE)]
    if key is not None and key.key_id not in trusted:
        return [VERIFY_KEY_MISMATCH]
    return []


@checks.register(checks.Tags.security, "audit", deploy=True)
def checkpoints_configured(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Production needs a real signing key (not the development one) and a checkpoint directory."""
    errors = []
    if not (settings.AUDIT_SIGNING_KEY or settings.AUDIT_SIGNING_KEY_FILE):
        errors.append(NO_SIGNING_KEY)
    if not settings.AUDIT_CHECKPOINT_DIR:
        errors.append(NO_CHECKPOINT_DIR)
    return errors
