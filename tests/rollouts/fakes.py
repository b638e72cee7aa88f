"""The change-request tests' fake Flow Service, with failures that hit one sandbox only."""

from __future__ import annotations

from collections import defaultdict

from flowadmin.flowservice import FlowServiceError
from tests.changes.fakes import FakeFlowService


class SandboxFakeFlowService(FakeFlowService):
    def __init__(self):
        super().__init__()
        self.sandbox_failures: dict[tuple[str, str], list[FlowServiceError]] = defaultdict(list)

    def fail_in(self, sandbox: str, call: str, error: FlowServiceError, times: int = 1) -> None:
        """The next ``times`` calls (``get``/``put``) to ``sandbox`` fail with ``error``."""
        self.sandbox_failures[(sandbox, call)] += [error] * times

    def puts_to(self, sandbox: str) -> int:
        return sum(1 for name, where, _ in self.calls if name == "put" and where == sandbox)

    def _sandbox_failure(self, sandbox: str, call: str) -> FlowServiceError | None:
        with self._lock:
            queue = self.sandbox_failures.get((sandbox, call))
            return queue.pop(0) if queue else None

    def get_flow_spec(self, sandbox: str, spec_id: str) -> dict:
        error = self._sandbox_failure(sandbox, "get")
        if error is not None:
            self.fail("get", error)
        return super().get_flow_spec(sandbox, spec_id)

    def put_flow_spec(self, sandbox: str, spec_id: str, document: dict) -> dict:
        error = self._sandbox_failure(sandbox, "put")
        if error is not None:
            self.fail("put", error)
        return super().put_flow_spec(sandbox, spec_id, document)
