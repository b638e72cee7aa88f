"""What the database itself guarantees about change requests."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowadmin.changes.models import STATUS_VALUES, ChangeRequest, change_digest
from tests.changes.conftest import ACME_EVENTS, SEGMENT
from tests.changes.factories import propose

pytestmark = pytest.mark.django_db


def test_the_status_check_lists_every_status():
    assert ChangeRequest.Status.values == STATUS_VALUES


def test_the_database_refuses_an_unknown_status(catalog, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.filter(pk=change_request.pk).update(status="merged")


def test_the_database_refuses_a_second_open_request_for_the_same_flow_spec(catalog, streaming_spec, staff_user):
    first = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    second = ChangeRequest.objects.get(pk=first.pk)
    second.pk = None
    second.added_ids = [SEGMENT]
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    assert ChangeRequest.objects.count() == 1


@pytest.mark.parametrize("status", ["applied", "failed", "rejected", "withdrawn"])
def test_closed_requests_do_not_count_as_open(catalog, streaming_spec, staff_user, status):
    first = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    ChangeRequest.objects.filter(pk=first.pk).update(status=status)
    second = propose(streaming_spec, staff_user, add=[SEGMENT])
    assert second.status == "pending"


def test_a_stale_request_is_open_until_it_is_superseded(catalog, streaming_spec, staff_user):
    first = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    ChangeRequest.objects.filter(pk=first.pk).update(status="stale")
    clone = ChangeRequest.objects.get(pk=first.pk)
    clone.pk = None
    clone.status = "pending"
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()
    ChangeRequest.objects.filter(pk=first.pk).update(superseded_at=timezone.now())
    clone.save()
    assert ChangeRequest.objects.filter(status="pending").count() == 1


def test_the_digest_binds_sandbox_spec_base_and_ids_in_any_order():
    digest = change_digest(sandbox="dev", spec_id="s", base_hash="h", added=["b", "a"], removed=["c"])
    assert digest == change_digest(sandbox="dev", spec_id="s", base_hash="h", added=["a", "b"], removed=["c"])
    for other in (
        {"sandbox": "prod"},
        {"spec_id": "t"},
        {"base_hash": "g"},
        {"added": ["a"]},
        {"removed": []},
        {"added": ["a", "b", "c"], "removed": []},
    ):
        fields = {"sandbox": "dev", "spec_id": "s", "base_hash": "h", "added": ["a", "b"], "removed": ["c"], **other}
        assert change_digest(**fields) != digest
