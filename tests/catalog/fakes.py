"""A stand-in for the Flow Service client: documents in memory, failures on demand, calls counted."""

from __future__ import annotations

import copy
import threading
from contextlib import contextmanager

from flowadmin.flowservice import Exchange, FlowServiceError

STREAMING_ID = "e77fde5a-22a8-11ed-861d-0242ac120002"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
S3 = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
HTTP_API = "bc7b00d6-623a-4dfc-9fdb-f1240aeadaa2"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def flow_spec(
    spec_id: str, name: str, *, sources=(), targets=(DATA_LAKE,), version="1.0", frequency="streaming", **extra
) -> dict:
    document = {
        "id": spec_id,
        "name": name,
        "providerId": "521eee4d-8cbe-4906-bb48-fb6bd4450033",
        "version": version,
        "attributes": {"isSourceFlow": True, "frequency": frequency},
        "sourceConnectionSpecIds": list(sources),
        "targetConnectionSpecIds": list(targets),
        "createdAt": 1660000000000,
        "updatedAt": 1700000000000,
        "createdBy": "someone@AdobeID",
    }
    document.update(extra)
    return document


def connection_spec(spec_id: str, name: str) -> dict:
    return {"id": spec_id, "name": name, "providerId": "0ed90a81-07f4-4586-8190-b40eccef1c5a", "version": "1.0"}


def server_error(path: str = "/connectionSpecs") -> FlowServiceError:
    exchange = Exchange(
        method="GET", url=f"https://flow.example/{path}", status=500, request_id="req-500", duration_ms=3, attempt=1
    )
    return FlowServiceError(
        status=500,
        code="FLOW-1102-500",
        title="Internal server error",
        detail="Something broke",
        request_id="req-500",
        exchange=exchange,
    )


class FakeClient:
    """``flow_specs[sandbox]`` and ``connection_specs[sandbox]`` are what the remote lists."""

    def __init__(self):
        self.flow_specs: dict[str, list[dict]] = {}
        self.connection_specs: dict[str, list[dict]] = {}
        self.sandboxes: list[dict] = []
        self.failures: dict[tuple[str, str], FlowServiceError] = {}
        self.calls: list[tuple[str, str | None]] = []
        self.before_listing = None  # callable(sandbox), e.g. to block a thread
        self._local = threading.local()
        self._lock = threading.Lock()

    def add_sandbox(self, name: str, *, type="development", state="active", title=None, **extra):
        self.sandboxes.append(
            {"name": name, "title": title or name.title(), "type": type, "state": state, "region": "VA7", **extra}
        )
        self.flow_specs.setdefault(name, [])
        self.connection_specs.setdefault(name, [])

    def fail(self, call: str, sandbox: str, error: FlowServiceError | None = None):
        self.failures[(call, sandbox)] = error or server_error()

    def _call(self, call: str, sandbox: str | None):
        with self._lock:
            self.calls.append((call, sandbox))
        recorded = getattr(self._local, "exchanges", None)
        error = self.failures.get((call, sandbox))
        status = error.status if error else 200
        if recorded is not None:
            recorded.append(Exchange("GET", f"https://flow.example/{call}", status, f"req-{call}", 1, 1))
        if error is not None:
            raise error

    @contextmanager
    def recording(self):
        self._local.exchanges = []
        try:
            yield self._local.exchanges
        finally:
            self._local.exchanges = None

    def list_flow_specs(self, sandbox, *, properties=None):
        if self.before_listing is not None:
            self.before_listing(sandbox)
        self._call("flowSpecs", sandbox)
        return copy.deepcopy(self.flow_specs.get(sandbox, []))

    def list_connection_specs(self, sandbox, *, properties=None):
        self._call("connectionSpecs", sandbox)
        return copy.deepcopy(self.connection_specs.get(sandbox, []))

    def list_sandboxes(self, *, active_only=True):
        self._call("sandboxes", None)
        return [s for s in copy.deepcopy(self.sandboxes) if not active_only or s["state"] == "active"]

    def listings(self, sandbox: str) -> int:
        return sum(1 for call in self.calls if call == ("flowSpecs", sandbox))
