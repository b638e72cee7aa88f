"""The fault matrix's outcomes, collected while its tests run and printed at the end as a table."""

from __future__ import annotations

import pytest

# (fault, operation) -> outcome, filled by the `matrix` fixture in the order the tests ran.
MATRIX: dict[tuple[str, str], str] = {}
OPERATIONS = ("sync", "approve/apply", "reconcile")


@pytest.fixture
def matrix():
    def record(fault: str, operation: str, outcome: str) -> None:
        MATRIX[(fault, operation)] = outcome

    return record


def pytest_terminal_summary(terminalreporter):
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
