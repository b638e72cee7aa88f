"""The attempt/retry machinery against a real socket on 127.0.0.1, where exceptions come from urllib3 itself."""

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flowadmin.flowservice import FlowServiceClient, FlowServiceError, OutcomeUnknownError
from flowadmin.flowservice.retries import RetryPolicy, retry_after_seconds
from tests.flowservice.conftest import CLIENT_ID, CLIENT_SECRET, ORG_ID, SCOPES, STREAMING_ID, streaming_spec


class Script:
    """What the loopback server does with each flow service request, in order; then it answers 200."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.received: list[tuple[str, str]] = []
        self.peers: set = set()
        self.release = threading.Event()


def make_handler(script: Script):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, payload) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            self._body()
            if self.path.startswith("/ims/"):
                self._answer(200, {"access_token": "loopback-token", "expires_in": 86399})
                return
            script.received.append((self.command, self.path))
            script.peers.add(self.client_address)
            action = script.actions.pop(0) if script.actions else "ok"
            if action == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if action == "hang":
                script.release.wait(10)
                self.close_connection = True
                return
            if action == "cut":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"items": [')
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._answer(200, {"items": [streaming_spec()]})

        do_GET = do_POST = do_PUT = _handle

    return Handler


@pytest.fixture
def loopback():
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield script
    script.release.set()
    server.shutdown()
    server.server_close()


def client_for(url: str, waits: list, **options) -> FlowServiceClient:
    defaults = {
        "platform_url": url,
        "ims_url": url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "org_id": ORG_ID,
        "scopes": SCOPES,
        "connect_timeout": 2.0,
        "read_timeout": 0.3,
        "max_retries": 2,
        "backoff": 0.01,
        "backoff_max": 0.02,
        "sleep": waits.append,
    }
    return FlowServiceClient(**{**defaults, **options})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_put_dropped_after_sending_has_an_unknown_outcome(loopback):
    loopback.actions = ["drop"]
    client = client_for(loopback.url, [])
    with pytest.raises(OutcomeUnknownError):
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert loopback.received == [("PUT", f"/data/foundation/flowservice/flowSpecs/{STREAMING_ID}")]


def test_a_put_without_answer_in_time_has_an_unknown_outcome(loopback):
    loopback.actions = ["hang"]
    client = client_for(loopback.url, [])
    with pytest.raises(OutcomeUnknownError):
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert len(loopback.received) == 1


def test_a_put_whose_answer_is_cut_off_has_an_unknown_outcome(loopback):
    loopback.actions = ["cut"]
    client = client_for(loopback.url, [])
    with pytest.raises(OutcomeUnknownError) as caught:
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert caught.value.status is None
    assert len(loopback.received) == 1


@pytest.mark.parametrize("action", ["drop", "hang", "cut"])
def test_a_read_is_retried_after_a_lost_answer(loopback, action):
    loopback.actions = [action]
    waits = []
    client = client_for(loopback.url, waits)
    assert client.get_flow_spec("dev", STREAMING_ID)["id"] == STREAMING_ID
    assert len(loopback.received) == 2
    assert len(waits) == 1


def test_a_put_to_a_closed_port_is_retried_then_fails_without_unknown_outcome(loopback):
    waits = []
    client = client_for(loopback.url, waits)
    client.auth.token()
    client.platform_url = f"http://127.0.0.1:{free_port()}"
    with client.recording() as exchanges, pytest.raises(FlowServiceError) as caught:
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.status is None
    assert "connection refused" in caught.value.detail
    assert [e.attempt for e in exchanges] == [1, 2, 3]
    assert len(waits) == 2


def test_connections_are_reused_across_calls(loopback):
    client = client_for(loopback.url, [])
    for _ in range(3):
        client.get_flow_spec("dev", STREAMING_ID)
    assert len(loopback.received) == 3
    assert len(loopback.peers) == 1


# --- back-off arithmetic ---------------------------------------------------------------------------
def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now=lambda: now) == 7.0
    assert retry_after_seconds("Wed, 01 Jan 2025 12:00:30 GMT", now=lambda: now) == 30.0
    assert retry_after_seconds("Wed, 01 Jan 2025 11:00:00 GMT", now=lambda: now) == 0.0
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_the_delay_grows_exponentially_with_jitter_and_is_capped():
    policy = RetryPolicy(backoff=1.0, backoff_max=5.0, rng=lambda: 0.5)
    assert [policy.delay(n) for n in range(1, 6)] == [0.75, 1.5, 3.0, 3.75, 3.75]
    assert policy.delay(1, "4") == 4.0
    assert policy.delay(1, "40") == 5.0
