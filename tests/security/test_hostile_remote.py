"""Hostile content from the remote API (or a compromised proxy): markup in names, descriptions and error
bodies, header injection in sandbox names, path traversal in names used as file names.

The remote is the emulator, made hostile: its documents, sandbox list and error answers carry what an
attacker would put there.
"""

from __future__ import annotations

import io
import logging
import os
import re

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import Client

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, Sandbox
from flowadmin.changes.models import ChangeRequest
from flowadmin.emulator import errors as emulator_errors
from flowadmin.emulator.models import ConnectionSpecDocument, RemoteSandbox
from tests.reliability.helpers import ACME_EVENTS, REST_ID, close_connections, quick_retries, request_threads, spec_path

MARKUP = "<script>alert('{where}')</script>"
IMG = "<img src=x onerror=alert('{where}')>"
RAW = ("<script>alert(", "<img src=x")  # what must never reach a page unescaped
ESCAPED = "&lt;script&gt;alert(&#x27;"
PRE_ESCAPED = "&lt;script&gt;alert('"  # inside a <pre> of document text quotes need no escaping


@pytest.fixture
def hostile(emulator, settings):
    """The remote with markup in a sandbox title, a flow spec's name and description, a connection spec's name."""
    before = request_threads()
    quick_retries(settings)
    RemoteSandbox.objects.filter(name="dev").update(title=MARKUP.format(where="sandbox title"))
    body = documents.put_body(emulator.document("dev", REST_ID))
    body.update(name=MARKUP.format(where="spec name"), description=IMG.format(where="description"))
    body["x-notes"] = MARKUP.format(where="unknown field")
    assert emulator.put(spec_path(REST_ID), json=body).status_code == 200
    for row in ConnectionSpecDocument.objects.filter(spec_id=ACME_EVENTS):
        row.document = {**row.document, "name": MARKUP.format(where="connection spec")}
        row.save()
    emulator.clear_log()
    yield emulator
    close_connections(emulator, before)


def assert_escaped(response) -> str:
    body = response.content.decode()
    assert not [marker for marker in RAW if marker in body], response.request["PATH_INFO"]
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    return body


def test_markup_from_the_remote_is_shown_escaped_everywhere(hostile, client, staff_user, approver_user, auditor_user):
    call_command("sync_flowspecs", "--sandbox", "dev", stdout=io.StringIO())
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=REST_ID)
    assert spec.name == MARKUP.format(where="spec name")
    pages = []

    client.force_login(staff_user)
    base = f"/sandboxes/dev/flowspecs/{REST_ID}/"
    listing = "/sandboxes/dev/flowspecs/"
    for url in ("/sandboxes/", listing, listing + "?q=<script>", base, base + "edit/"):
        pages.append(assert_escaped(client.get(url)))
    ids = "\n".join([*documents.source_ids(spec.document), ACME_EVENTS])
    form = {"source_connection_spec_ids": ids, "reason": MARKUP.format(where="reason")}
    pages.append(assert_escaped(client.post(base + "preview/", form, HTTP_HX_REQUEST="true")))
    pages.append(assert_escaped(client.post(base + "edit/", form, follow=True)))
    change_request = ChangeRequest.objects.get()

    # The PUT fails twice, with markup in a Flow Service error and in an HTML error page.
    def flow_fault(*, status, shape, request_id):
        return emulator_errors.flow_error(
            status=status,
            code="1000-502",
            title=MARKUP.format(where="error title"),
            detail=IMG.format(where="error detail"),
            request_id=request_id,
        )

    def html_fault(*, status, shape, request_id):
        page = f"<html><body>{MARKUP.format(where='error page')}</body></html>"
        return HttpResponse(page, status=status, content_type="text/html")

    client.force_login(approver_user)
    for fault in (flow_fault, html_fault):
        hostile.add_fault(action="respond", method="PUT", path=spec_path(REST_ID), status=502, times=1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(emulator_errors, "fault_error", fault)
            if fault is flow_fault:
                response = client.post(f"/changes/{change_request.pk}/approve/", {"digest": change_request.digest})
            else:
                response = client.post(f"/changes/{change_request.pk}/retry/")
        assert response.status_code == 302
        pages.append(assert_escaped(client.get(response["Location"])))
        assert ChangeRequest.objects.get().status == "failed"
    pages.append(assert_escaped(client.get(f"/changes/{change_request.pk}/check/", HTTP_HX_REQUEST="true")))
    pages.append(assert_escaped(client.get("/changes/?show=all")))

    client.force_login(auditor_user)
    pages.append(assert_escaped(client.get("/audit/?q=<script>")))
    for seq in AuditEvent.objects.values_list("seq", flat=True):
        pages.append(assert_escaped(client.get(f"/audit/{seq}/")))

    shown = "\n".join(pages)
    for where in ("sandbox title", "spec name", "connection spec", "reason", "error title"):
        assert ESCAPED + where in shown, where
    assert PRE_ESCAPED + "unknown field" in shown, "the document's own text, shown as text"
    assert "&lt;img src=x onerror=alert(&#x27;error detail&#x27;)&gt;" in shown
    failed = ChangeRequest.objects.get()
    assert (failed.error_status, failed.error_title) == (502, "Bad Gateway")  # the HTML page is not quoted
    assert hostile.document("dev", REST_ID)["name"] == MARKUP.format(where="spec name")  # nothing applied


# --- header injection -----------------------------------------------------------------------------
INJECTED = "dev\r\nX-Evil: 1"


def test_a_sandbox_name_with_a_line_break_in_the_url_is_not_found_and_sends_nothing(hostile, staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    html = client.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    encoded = "dev%0D%0AX-Evil:%201"
    for response in (
        client.get(f"/sandboxes/{encoded}/flowspecs/"),
        client.get(f"/sandboxes/{encoded}/flowspecs/{REST_ID}/edit/"),
        client.post(f"/sandboxes/{encoded}/sync/", {"csrfmiddlewaretoken": token}),
    ):
        assert response.status_code == 404
        assert "X-Evil" not in response.headers and "x-evil" not in {key.lower() for key in response.headers}
    assert hostile.log() == []
    assert not Sandbox.objects.exists()


def test_a_remote_sandbox_list_with_injected_headers_is_refused_and_the_rest_syncs(hostile, caplog):
    RemoteSandbox.objects.create(name=INJECTED, title="Evil", type="development")
    RemoteSandbox.objects.create(name="../../etc", title="Traversal", type="development")
    out = io.StringIO()
    with caplog.at_level(logging.WARNING, logger="flowadmin.catalog"):
        call_command("sync_flowspecs", stdout=out)

    assert sorted(Sandbox.objects.filter(state="active").values_list("name", flat=True)) == ["dev", "prod", "stage"]
    assert "3 sandbox(es): 3 ok" in out.getvalue()
    logged = [entry["sandbox"] or "" for entry in hostile.log()]
    assert not [name for name in logged if "\r" in name or "\n" in name or "evil" in name or ".." in name]
    refused = [record.getMessage() for record in caplog.records if "refused" in record.getMessage()]
    assert len(refused) == 2
    assert all("\r" not in message and "\n" not in message for message in refused)  # one log line each


def test_sync_of_a_named_sandbox_with_a_line_break_is_refused(hostile):
    with pytest.raises(CommandError):
        call_command("sync_flowspecs", "--sandbox", INJECTED, stdout=io.StringIO(), stderr=io.StringIO())
    assert hostile.log(method="GET", path="/data/foundation/flowservice/*") == []


# --- path traversal in exported file names ---------------------------------------------------------
def test_export_writes_only_inside_its_folder_whatever_the_remote_names_are(hostile, tmp_path):
    body = documents.put_body(hostile.document("dev", REST_ID))
    body["name"] = "../../../../" + str(tmp_path / "escaped")
    assert hostile.put(spec_path(REST_ID), json=body).status_code == 200
    call_command("sync_flowspecs", stdout=io.StringIO())
    target = tmp_path / "export"

    call_command("export_flowspecs", str(target), stdout=io.StringIO())

    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert written and all(path.is_relative_to(target) for path in written)
    assert len(written) == FlowSpec.objects.filter(vanished_at__isnull=True).count()
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "escaped.json").exists()


def test_export_refuses_a_folder_that_links_outside_and_writes_nothing_there(hostile, tmp_path):
    call_command("sync_flowspecs", "--sandbox", "dev", stdout=io.StringIO())
    target, outside = tmp_path / "export", tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    os.symlink(outside, target / "dev")

    with pytest.raises(CommandError, match="outside"):
        call_command("export_flowspecs", str(target), stdout=io.StringIO())
    assert list(outside.iterdir()) == []
