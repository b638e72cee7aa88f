"""A stand-in Flow Service for the change-request services: flow spec documents in memory.

Reads and PUTs behave like the real client's (``{"items": [...]}`` unwrapped, the PUT stores
``put_body`` with fresh metadata); failures are queued per call; every call is counted and recorded
as an `Exchange`, and ``on_get`` lets a test change the remote between calls.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from contextlib import contextmanager

from flowadmin import documents
from flowadmin.flowservice import Exchange, FlowServiceError, OutcomeUnknownError

PLATFORM = "https://platform.example/data/foundation/flowservice"


def server_error(status=503, *, title="Service unavailable", request_id="req-err") -> FlowServiceError:
    exchange = Exchange("PUT", f"{PLATFORM}/flowSpecs/x", status, request_id, 5, 1)
    return FlowServiceError(
        status=status,
        code=f"FLOW-1103-{status}",
        title=title,
        detail="The service is busy, try later.",
        request_id=request_id,
        exchange=exchange,
    )


def unknown_outcome(*, applied: bool) -> OutcomeUnknownError:
    error = OutcomeUnknownError(detail="The connection was closed before an answer came", request_id="req-lost")
    error.applied = applied  # what the fake does with the PUT before "losing" the answer
    return error


class FakeFlowService:
    def __init__(self):
        self.documents: dict[tuple[str, str], dict] = {}
        self.failures: dict[str, list[FlowServiceError]] = defaultdict(list)  # "get" / "put" -> queue
        self.calls: list[tuple[str, str, str]] = []
        self.puts: list[dict] = []
        self.on_get = None  # callable(sandbox, spec_id, number of the GET) run before answering
        self.answer_override = None  # callable(document) -> the PUT's answer
        self._local = threading.local()
        self._lock = threading.Lock()
        self._updated = 1_700_000_000_000

    def add(self, sandbox: str, document: dict) -> None:
        self.documents[(sandbox, document["id"])] = copy.deepcopy(document)

    def document(self, sandbox: str, spec_id: str) -> dict:
        return copy.deepcopy(self.documents[(sandbox, spec_id)])

    def fail(self, call: str, error: FlowServiceError, times: int = 1) -> None:
        self.failures[call] += [error] * times

    def count(self, call: str) -> int:
        return sum(1 for name, _, _ in self.calls if name == call)

    @contextmanager
    def recording(self):
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        exchanges: list[Exchange] = []
        stack.append(exchanges)
        try:
            yield exchanges
        finally:
            stack.remove(exchanges)

    def _record(self, method: str, spec_id: str, status: int | None, request_id: str) -> None:
        exchange = Exchange(method, f"{PLATFORM}/flowSpecs/{spec_id}", status, request_id, 3, 1)
        for exchanges in getattr(self._local, "stack", []):
            exchanges.append(exchange)

    def _failure(self, call: str) -> FlowServiceError | None:
        with self._lock:
            queue = self.failures.get(call)
            return queue.pop(0) if queue else None

    def list_flows(self, sandbox: str, *, properties=None, limit=None) -> list[dict]:
        """No dataflows: a removal here affects nothing (the emulator tests cover dataflows)."""
        with self._lock:
            self.calls.append(("list_flows", sandbox, ""))
        return []

    def list_source_connections(self, sandbox: str, *, properties=None, limit=None) -> list[dict]:
        with self._lock:
            self.calls.append(("list_source_connections", sandbox, ""))
        return []

    def list_connection_specs(self, sandbox: str, *, properties=None) -> list[dict]:
        """No attributes to judge an added id by: the preview warns about nothing."""
        with self._lock:
            self.calls.append(("list_connection_specs", sandbox, ""))
        return []

    def get_flow_spec(self, sandbox: str, spec_id: str) -> dict:
        with self._lock:
            self.calls.append(("get", sandbox, spec_id))
            number = self.count("get")
        if self.on_get is not None:
            self.on_get(sandbox, spec_id, number)
        error = self._failure("get")
        if error is not None:
            self._record("GET", spec_id, error.status, error.request_id)
            raise error
        self._record("GET", spec_id, 200, f"req-get-{number}")
        return self.document(sandbox, spec_id)

    def put_flow_spec(self, sandbox: str, spec_id: str, document: dict) -> dict:
        with self._lock:
            self.calls.append(("put", sandbox, spec_id))
            self.puts.append(copy.deepcopy(document))
        error = self._failure("put")
        if error is not None and not getattr(error, "applied", False):
            self._record("PUT", spec_id, error.status, error.request_id)
            raise error
        with self._lock:
            old = self.documents[(sandbox, spec_id)]
            self._updated += 1000
            metadata = {key: old[key] for key in documents.READ_ONLY_FIELDS if key in old}
            metadata.update(updatedAt=self._updated, updatedBy="flowadmin@AdobeID")
            new = {**documents.put_body(document), **metadata}
            self.documents[(sandbox, spec_id)] = new
        if error is not None:
            self._record("PUT", spec_id, None, error.request_id)
            raise error
        self._record("PUT", spec_id, 200, "req-put")
        answer = copy.deepcopy(new)
        return self.answer_override(answer) if self.answer_override else answer
