"""The client secret and the access tokens reach no log line, page, audit row, request log, mail or error.

One whole journey over the emulator with a distinctive client secret: sync (also a failing one),
propose, approve with a failed PUT, a token revoked mid-way (renewal), retry, an answer lost and
reconciled, audit pages and exports. Everything it leaves behind is searched for the secrets.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import ConnectionSpec, FlowSpec, FlowSpecVersion, Sandbox, SyncRun
from flowadmin.changes.models import ChangeRequest
from flowadmin.emulator import services as emulator_services
from flowadmin.flowservice import FlowServiceClient, FlowServiceError, client_options, get_client
from flowadmin.ops.logs import JsonFormatter
from tests.reliability.helpers import (
    ACME_EVENTS,
    ACME_LOYALTY,
    REST_ID,
    STREAMING_ID,
    close_connections,
    quick_retries,
    request_threads,
    spec_path,
    wait_for_sync_runs,
)

CLIENT_SECRET = "cl1ent-SECRET-4f9e2b7c-never-shown"
FLOW_SERVICE = "/data/foundation/flowservice"
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def secret_settings(settings, monkeypatch) -> list[str]:
    """The distinctive secret, in settings before the emulator starts; every token the emulator issues, kept."""
    settings.ADOBE_CLIENT_SECRET = CLIENT_SECRET
    quick_retries(settings)
    settings.FLOWADMIN_APPLY_GRACE_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    issued: list[str] = []
    real_issue = emulator_services.token_issue

    def issue(**kwargs):
        token = real_issue(**kwargs)
        issued.append(token)
        return token

    monkeypatch.setattr(emulator_services, "token_issue", issue)
    return issued


@pytest.fixture
def journey(secret_settings, emulator):
    """The emulator accepting (and the product sending) the distinctive secret."""
    before = request_threads()
    assert emulator.client_secret == CLIENT_SECRET
    yield emulator, secret_settings
    close_connections(emulator, before)


def everything_logged(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)


def rows(*models) -> str:
    return "\n".join(repr(list(model.objects.values())) for model in models)


def test_no_secret_or_token_leaks_anywhere_along_a_whole_journey(
    journey, caplog, client, staff_user, approver_user, auditor_user, settings
):
    emulator, issued = journey
    everything_logged(caplog)
    for user in (staff_user, approver_user, auditor_user):  # so that the notifications are mailed
        user.email = f"{user.username}@example.com"
        user.save()
    seen: list[tuple[str, str]] = []  # (where, text)

    def page(response, where):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        seen.append((where, body.decode("utf-8", "replace") + repr(sorted(response.items()))))
        return response

    # Sync, from the page and from the command (one sandbox failing).
    client.force_login(staff_user)
    page(client.post(reverse("catalog:sync")), "sync now")
    wait_for_sync_runs()
    page(client.get(reverse("catalog:sync_run", args=[SyncRun.objects.get().pk])), "sync progress")
    emulator.add_fault(action="respond", method="GET", path=FLOW_SERVICE + "/*", sandbox="stage", status=500)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failed_sync:
        call_command("sync_flowspecs", stdout=out, stderr=err)
    seen += [("sync command", out.getvalue() + err.getvalue()), ("sync error", str(failed_sync.value))]
    emulator.clear_faults()

    # Browse and propose two changes.
    for url in (
        reverse("catalog:sandboxes"),
        reverse("catalog:flowspecs", args=["dev"]),
        reverse("catalog:flowspec", args=["dev", STREAMING_ID]),
        reverse("changes:edit", args=["dev", STREAMING_ID]),
    ):
        page(client.get(url), url)
    proposals = {STREAMING_ID: ACME_EVENTS, REST_ID: ACME_LOYALTY}
    for spec_id, new_id in proposals.items():
        ids = [*documents.source_ids(FlowSpec.objects.get(sandbox__name="dev", spec_id=spec_id).document), new_id]
        form = {"source_connection_spec_ids": "\n".join(ids), "reason": "Onboard the new source"}
        page(client.post(reverse("changes:preview", args=["dev", spec_id]), form, HTTP_HX_REQUEST="true"), "preview")
        page(client.post(reverse("changes:edit", args=["dev", spec_id]), form, follow=True), "proposed")
    streaming = ChangeRequest.objects.get(spec_id=STREAMING_ID)
    rest = ChangeRequest.objects.get(spec_id=REST_ID)

    # Approve: the PUT fails; the token is revoked (renewed on the 401); the retry applies.
    client.force_login(approver_user)
    page(client.get(reverse("changes:check", args=[streaming.pk]), HTTP_HX_REQUEST="true"), "check")
    emulator.add_fault(action="respond", method="PUT", path=spec_path(STREAMING_ID), status=503, times=1)
    approve = reverse("changes:approve", args=[streaming.pk])
    page(client.post(approve, {"digest": streaming.digest}, follow=True), "approve, PUT failed")
    emulator.revoke_tokens()
    page(client.post(reverse("changes:retry", args=[streaming.pk]), follow=True), "retry")
    assert ChangeRequest.objects.get(pk=streaming.pk).status == "applied"

    # The other: applied, its answer lost, settled by reconcile_changes.
    emulator.add_fault(action="apply_then_drop", method="PUT", path=spec_path(REST_ID), times=1)
    page(client.post(reverse("changes:approve", args=[rest.pk]), {"digest": rest.digest}, follow=True), "unknown")
    out = io.StringIO()
    call_command("reconcile_changes", stdout=out)
    seen.append(("reconcile command", out.getvalue()))
    assert ChangeRequest.objects.get(pk=rest.pk).status == "applied"
    page(client.get(reverse("changes:detail", args=[rest.pk])), "reconciled")
    page(client.get(reverse("changes:queue") + "?show=all"), "queue")

    # Errors raised to callers: a missing flow spec, a wrong secret.
    def error_text(call) -> str:
        try:
            call()
        except FlowServiceError as error:
            return f"{error}\n{error!r}\n{error.as_dict()!r}"
        raise AssertionError("no error")

    seen.append(("exception", error_text(lambda: get_client().get_flow_spec("dev", MISSING_ID))))
    wrong = FlowServiceClient(**{**client_options(settings), "client_secret": CLIENT_SECRET[::-1]})
    seen.append(("exception", error_text(lambda: wrong.list_flow_specs("dev"))))
    wrong.close()

    # The auditor's pages and exports.
    client.force_login(auditor_user)
    page(client.get(reverse("audit:index")), "audit")
    for seq in AuditEvent.objects.values_list("seq", flat=True):
        page(client.get(reverse("audit:event", args=[seq])), f"audit event {seq}")
    page(client.get(reverse("audit:export_csv")), "csv")
    page(client.get(reverse("audit:export_jsonl")), "jsonl")
    api = reverse("audit:api")
    while api:
        response = page(client.get(api), "api")
        api = response.json()["next"]

    # What is stored and what was logged.
    seen.append(("emulator request log", json.dumps(emulator.log())))
    seen.append(("audit rows", rows(AuditEvent)))
    seen.append(("product rows", rows(ChangeRequest, FlowSpec, FlowSpecVersion, ConnectionSpec, Sandbox, SyncRun)))
    seen += [("mail", f"{message.subject}\n{message.body}") for message in mail.outbox]
    seen += [("log", f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}") for r in caplog.records]
    seen += [("json log line", JsonFormatter().format(record)) for record in caplog.records]  # LOG_FORMAT=json

    secrets = [CLIENT_SECRET, *issued]
    assert len(issued) >= 2, "the journey renewed its token"
    assert len(seen) > 40 and len(caplog.records) > 50 and len(mail.outbox) >= 2
    assert any("PUT" in text and "503" in text for where, text in seen if where == "log")
    leaks = [(where, secret[:12]) for where, text in seen for secret in secrets if secret in text]
    assert leaks == []
