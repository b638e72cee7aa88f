"""`manage.py reconcile_changes` against the fake Flow Service (the emulator tests run it over HTTP)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flowadmin.changes import services
from flowadmin.changes.models import ChangeRequest
from tests.changes.conftest import ACME_EVENTS, STREAMING_ID
from tests.changes.factories import propose
from tests.changes.fakes import server_error, unknown_outcome

pytestmark = pytest.mark.django_db


def lost_put(remote, spec, author, reviewer, *, applied: bool) -> ChangeRequest:
    remote.fail("put", unknown_outcome(applied=applied))
    change_request = propose(spec, author, add=[ACME_EVENTS])
    return services.change_request_approve(
        change_request=change_request, reviewer=reviewer, digest=change_request.digest
    )


def test_nothing_to_settle(remote):
    out = io.StringIO()
    call_command("reconcile_changes", stdout=out)
    assert out.getvalue() == "No change request to settle.\n"


def test_it_reports_each_settled_request(remote, streaming_spec, staff_user, approver_user, grace_zero):
    change_request = lost_put(remote, streaming_spec, staff_user, approver_user, applied=True)
    out = io.StringIO()
    call_command("reconcile_changes", stdout=out)
    assert out.getvalue() == f"#{change_request.pk} dev/{STREAMING_ID}: applied\n"


def test_it_fails_when_a_request_cannot_be_settled(remote, streaming_spec, staff_user, approver_user, grace_zero):
    change_request = lost_put(remote, streaming_spec, staff_user, approver_user, applied=False)
    remote.fail("get", server_error(503))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 change request"):
        call_command("reconcile_changes", stderr=err)
    assert f"#{change_request.pk} dev/{STREAMING_ID}: left applying" in err.getvalue()
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "applying"
