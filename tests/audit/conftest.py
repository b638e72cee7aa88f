import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flowadmin.audit import signing
from flowadmin.audit.checkpoints import checkpoint_if_new
from flowadmin.audit.models import AuditCheckpoint, AuditEvent
from flowadmin.audit.services import audit_record

from .factories import bulk_events, record_at

SPEC_A = "e77fde5a-22a8-11ed-861d-0242ac120002"
SPEC_B = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CONN_KEPT = "bc7b00d6-623a-4dfc-9fdb-f1240aeadaf2"
CONN_X = "a5f14b0c-9b7c-4a1e-9d5e-0f3c1d2e3f40"
CONN_Y = "d1e2f3a4-b5c6-47d8-89e0-a1b2c3d4e5f6"
DOC_A0 = {"id": SPEC_A, "name": "GenericStreamingAEP", "sourceConnectionSpecIds": [CONN_KEPT]}
DOC_A1 = {"id": SPEC_A, "name": "GenericStreamingAEP", "sourceConnectionSpecIds": [CONN_KEPT, CONN_X]}
DOC_B0 = {"id": SPEC_B, "name": "Batch", "sourceConnectionSpecIds": [CONN_KEPT, CONN_Y]}
DOC_B1 = {"id": SPEC_B, "name": "Batch", "sourceConnectionSpecIds": [CONN_KEPT]}
PUT_OK = {
    "method": "PUT",
    "url": f"https://platform.adobe.io/data/foundation/flowservice/flowSpecs/{SPEC_A}",
    "status": 200,
    "request_id": "req-put-1",
    "duration_ms": 184,
    "attempt": 1,
}


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw")


@pytest.fixture
def history(db, alice, bob):
    """Seven events across two sandboxes, three days, two people and the system."""
    return [
        record_at(
            at(1, 9),
            action="change.proposed",
            actor=alice,
            sandbox="prod",
            spec_id=SPEC_A,
            change_request_id=7,
            before=DOC_A0,
            after=DOC_A1,
            detail="Add the Acme source",
        ),
        record_at(
            at(1, 10),
            action="change.approved",
            actor=bob,
            sandbox="prod",
            spec_id=SPEC_A,
            change_request_id=7,
            detail="looks right",
        ),
        record_at(
            at(1, 10, 1),
            action="change.applied",
            actor=bob,
            sandbox="prod",
            spec_id=SPEC_A,
            change_request_id=7,
            before=DOC_A0,
            after=DOC_A1,
            http=PUT_OK,
            detail="PUT accepted",
        ),
        record_at(at(2, 8), action="sandbox.synced", sandbox="dev", spec_id=SPEC_B, detail="Synced 12 flow specs"),
        record_at(
            at(2, 9),
            action="change.proposed",
            actor=alice,
            sandbox="dev",
            spec_id=SPEC_B,
            change_request_id=8,
            before=DOC_B0,
            after=DOC_B1,
            detail="Remove the old source",
        ),
        record_at(
            at(3, 12),
            action="change.apply_failed",
            actor=bob,
            outcome="failure",
            sandbox="dev",
            spec_id=SPEC_B,
            change_request_id=8,
            http={**PUT_OK, "status": 503, "request_id": "req-put-2"},
            detail="HTTP 503 from Flow Service",
        ),
        record_at(at(4, 0), action="sandbox.sync_failed", outcome="unknown", sandbox="prod", detail="timeout"),
    ]


@dataclass(frozen=True)
class AuditKeys:
    private: Ed25519PrivateKey
    public_text: str
    key_id: str
    directory: Path


@pytest.fixture
def audit_keys(settings, tmp_path) -> AuditKeys:
    """A signing key in the environment and a checkpoint directory of the test's own, as in production."""
    private = Ed25519PrivateKey.generate()
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(private)
    settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.AUDIT_VERIFY_KEY = []
    settings.AUDIT_VERIFY_KEY_FILE = ""
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    public = private.public_key()
    return AuditKeys(private, signing.public_key_text(public), signing.key_id(public), tmp_path / "checkpoints")


APPROVAL = 12  # the approval of change request 7; checkpoints end at 10, 13 and 20; events 21..25 follow


@pytest.fixture
def signed_log(transactional_db, audit_keys):
    """25 events, an approval at #12, checkpoints through #10, #13 (written by the apply) and #20."""
    bulk_events(10)
    checkpoint_if_new()  # #1: events 1..10
    change = {"sandbox": "prod", "spec_id": SPEC_A, "change_request_id": 7}
    audit_record(action="change.proposed", **change, before=DOC_A0, after=DOC_A1, detail="Add the Acme source")
    audit_record(action="change.approved", **change, detail="Approved by the second pair of eyes ✓")
    audit_record(action="change.applied", **change, before=DOC_A0, after=DOC_A1, http=PUT_OK, detail="PUT accepted")
    # checkpoint #2 (events 1..13) was written when the apply committed
    bulk_events(7)
    checkpoint_if_new()  # #3: events 1..20
    bulk_events(5)
    assert list(AuditCheckpoint.objects.order_by("number").values_list("last_seq", flat=True)) == [10, 13, 20]
    assert AuditEvent.objects.get(seq=APPROVAL).action == "change.approved"
    return audit_keys
