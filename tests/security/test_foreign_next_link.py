"""A listing whose next page points at another host: nothing is sent there, the sync fails readably.

The emulator answers the flow spec listing of one sandbox with `_links.next.href` on another local
HTTP server (fault action `next_link`), which records every request it gets. The Flow Service client
sends its bearer token, API key and organization with each request, so it must not follow the link.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, Sandbox
from flowadmin.catalog.services import sandbox_sync
from tests.fixtures.emulator import FLOW_SPECS
from tests.reliability.helpers import close_connections, quick_retries, request_threads


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with an empty page and remembers it (path and headers)."""

    def do_GET(self):
        self.server.requests.append((self.path, dict(self.headers)))
        body = b'{"items": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def remote(emulator, settings):
    before = request_threads()
    quick_retries(settings)
    yield emulator
    close_connections(emulator, before)


def test_a_sync_refuses_a_next_page_on_another_host_and_keeps_the_cache(remote, other_host, staff_user, client):
    assert sandbox_sync(sandbox_name="dev").ok
    cached = list(FlowSpec.objects.filter(sandbox__name="dev").values_list("spec_id", "content_hash"))
    port = other_host.server_address[1]
    href = f"http://127.0.0.1:{port}{FLOW_SPECS}?continuationToken=stolen"
    remote.add_fault(action="next_link", method="GET", path=FLOW_SPECS, sandbox="dev", href=href)

    result = sandbox_sync(sandbox_name="dev")

    assert other_host.requests == [], "no request (and so no token) reached the other host"
    assert not result.ok
    message = f"points its next page to http://127.0.0.1:{port}, not to the Flow Service at"
    assert message in result.error and "not followed" in result.error
    assert list(FlowSpec.objects.filter(sandbox__name="dev").values_list("spec_id", "content_hash")) == cached
    assert message in Sandbox.objects.get(name="dev").last_sync_error
    failed = AuditEvent.objects.get(action="sandbox.sync_failed")
    assert failed.sandbox == "dev" and message in failed.detail

    client.force_login(staff_user)
    page = client.get(reverse("catalog:sandboxes")).content.decode()
    assert "failed" in page and message in page
    remote.clear_faults()
    assert sandbox_sync(sandbox_name="dev").ok, "retryable once the remote behaves"
