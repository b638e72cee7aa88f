"""Shared by the reliability tests: the fault matrix's outcomes and the load run's figures (printed at the
end of the run), and the two server processes the crash and load tests share."""

from __future__ import annotations

import pytest

# (fault, operation) -> outcome, filled by the `matrix` fixture in the order the tests ran.
MATRIX: dict[tuple[str, str], str] = {}
OPERATIONS = ("sync", "approve/apply", "reconcile")
# Lines the load test reports (its figures), printed after the run.
LOAD_REPORT: list[str] = []
# Idle keep-alive connections kept longer than gunicorn's 2 s: a client reusing one just as the server
# closes it sees no answer (a browser would retry), which says nothing about the server under test.
KEEP_ALIVE = "--keep-alive 60"


@pytest.fixture
def matrix():
    def record(fault: str, operation: str, outcome: str) -> None:
        MATRIX[(fault, operation)] = outcome

    return record


def pytest_terminal_summary(terminalreporter):
    if LOAD_REPORT:
        terminalreporter.section("load run")
        for line in LOAD_REPORT:
            terminalreporter.write_line(line)
    if not MATRIX:
        return
    faults = list(dict.fromkeys(fault for fault, _ in MATRIX))
    operations = [op for op in OPERATIONS if any(key[1] == op for key in MATRIX)]
    rows = [["fault", *operations]]
    rows += [[fault, *(MATRIX.get((fault, op), "-") for op in operations)] for fault in faults]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    terminalreporter.section("fault matrix: final state per fault and operation")
    for number, row in enumerate(rows):
        terminalreporter.write_line(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            terminalreporter.write_line("-+-".join("-" * width for width in widths))


@pytest.fixture(scope="package")
def remote_server():
    """A server running only as the emulator: the crash and load tests' stand-in for Adobe."""
    from tests.reliability.servers import Server

    with Server("remote", sqlite=True, extra_env={"GUNICORN_CMD_ARGS": KEEP_ALIVE}) as server:
        yield server


@pytest.fixture(scope="package")
def dashboard_server(remote_server):
    """flowadmin under gunicorn with its own database, talking to ``remote_server``; every sandbox synced."""
    from tests.reliability.servers import Server

    emulator = remote_server.url + "/emulator"
    env = {"PLATFORM_URL": emulator, "IMS_URL": emulator, "FLOWADMIN_APPLY_GRACE_SECONDS": "0"}
    env["GUNICORN_CMD_ARGS"] = KEEP_ALIVE
    with Server("dashboard", extra_env=env) as server:
        synced = server.manage("sync_flowspecs")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        yield server
