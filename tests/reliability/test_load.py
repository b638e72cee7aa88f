"""A bounded load run (see `load.py`): no 5xx, every request answered, no PUT lost or sent twice,
the cache equal to the remote and the audit chain intact afterwards. Figures are reported, not judged.

FLOWADMIN_LOAD_SECONDS (default 10) and FLOWADMIN_LOAD_USERS (default 30) size it; the full run is
``FLOWADMIN_LOAD_SECONDS=60 .venv/bin/pytest tests/reliability/test_load.py`` (or ``python -m
tests.reliability.load``).
"""

from __future__ import annotations

import os
from collections import Counter

from flowadmin import documents
from tests.fixtures.emulator import FLOW_SPECS, Emulator
from tests.reliability.conftest import LOAD_REPORT
from tests.reliability.load import APPLIED, APPLIED_OUTCOME, SANDBOXES, run

SECONDS = float(os.environ.get("FLOWADMIN_LOAD_SECONDS", "10"))
USERS = int(os.environ.get("FLOWADMIN_LOAD_USERS", "30"))


def test_a_load_run_answers_every_request_and_loses_or_repeats_no_put(remote_server, dashboard_server):
    dashboard = dashboard_server
    api = Emulator.at(remote_server.url)
    api.clear_log()
    before = dashboard.query(APPLIED)

    figures = run(dashboard.url, users=USERS, seconds=SECONDS, applied_at_least=1, longest=max(60, SECONDS))

    state = dashboard.query(APPLIED)
    puts = api.log(method="PUT")
    remote_hashes = {}
    for sandbox in SANDBOXES:
        listing = api.call("GET", FLOW_SPECS, sandbox=sandbox).json()["items"]
        remote_hashes.update({f"{sandbox}/{doc['id']}": documents.content_hash(doc) for doc in listing})
    api.close()
    verified = dashboard.manage("audit_verify")
    LOAD_REPORT[:] = [
        f"{USERS} users for {figures.ended - figures.started:.0f} s against gunicorn (1 worker, 8 threads) on loopback",
        *figures.report(),
        f"change requests by status: {state['statuses']}; PUTs received by the remote: {len(puts)}",
    ]

    assert figures.server_errors == []
    assert figures.transport_errors == []
    assert figures.outcomes[APPLIED_OUTCOME] >= 1, "the run applied nothing: too short to mean much"
    # Every PUT the remote received is one the dashboard recorded, once; every applied request made exactly one.
    recorded = Counter(state["put_request_ids"]) - Counter(before["put_request_ids"])
    assert Counter(entry["request_id"] for entry in puts) == recorded
    assert [entry["status"] for entry in puts].count(200) == state["applied"] - before["applied"]
    assert not set(state["statuses"]) & {"approved", "applying"}, "a request was left half-way"
    assert {key: value for key, value in state["hashes"].items() if key.split("/")[0] in SANDBOXES} == remote_hashes
    assert verified.returncode == 0 and "Audit chain intact" in verified.stdout
