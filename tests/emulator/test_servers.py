"""Dropped connections under the servers flowadmin really runs on: gunicorn (gthread) and runserver.

The live server of the other tests is Django's LiveServerThread (the same wsgiref handler as
runserver); here each server runs in its own process on the test database.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection

from flowadmin.emulator.seed import seed_emulator
from tests.fixtures.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID, FLOW_SPECS, GENERIC_STREAMING_ID

REPO = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 90  # a ceiling for a loaded machine, not a performance expectation


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(settings["NAME"]).resolve())
    credentials = quote(settings["USER"] or "") + (":" + quote(settings["PASSWORD"]) if settings["PASSWORD"] else "")
    return f"postgres://{credentials}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


COMMANDS = {
    "gunicorn": lambda port: [
        str(Path(sys.executable).with_name("gunicorn")),
        "flowadmin.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--worker-class=gthread",
        "--threads=4",
        "--workers=2",
        "--no-control-socket",  # several gunicorns on one machine must not share the default control socket
    ],
    "runserver": lambda port: [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
}


@pytest.fixture(params=sorted(COMMANDS))
def server(request, transactional_db, tmp_path):
    seed_emulator()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "on",
        "FLOWADMIN_EMULATOR": "on",
        "FLOWADMIN_BASE_URL": f"http://127.0.0.1:{port}",
        "ADOBE_CLIENT_ID": DEMO_CLIENT_ID,
        "ADOBE_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "ADOBE_ORG_ID": DEMO_ORG_ID,
        "CONN_MAX_AGE": "0",
        "AUDIT_CHECKPOINT_DIR": str(tmp_path / "audit-checkpoints"),
    }
    env.pop("PLATFORM_URL", None)
    env.pop("IMS_URL", None)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(COMMANDS[request.param](port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    try:
        while True:
            try:
                if requests.get(url + "/healthz", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{request.param} did not start:\n{(tmp_path / 'server.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield url + "/emulator"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_drop_and_apply_then_drop_lose_the_answer_under_each_server(server):
    session = requests.Session()
    token = session.post(
        server + "/ims/token/v3",
        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        timeout=30,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "x-api-key": DEMO_CLIENT_ID, "x-gw-ims-org-id": DEMO_ORG_ID}
    spec_url = f"{server}{FLOW_SPECS}/{GENERIC_STREAMING_ID}"
    dev = {**headers, "x-sandbox-name": "dev"}
    document = session.get(spec_url, headers=dev, timeout=30).json()["items"][0]

    def add_fault(**rule):
        session.post(server + "/_faults", headers=headers, json=rule, timeout=30).raise_for_status()

    add_fault(action="drop", method="GET", times=1)
    with pytest.raises(requests.ConnectionError):
        session.get(spec_url, headers=dev, timeout=30)

    add_fault(action="drop", method="PUT", times=1)
    with pytest.raises(requests.ConnectionError):
        session.put(spec_url, headers=dev, json={**document, "version": "dropped"}, timeout=30)
    assert session.get(spec_url, headers=dev, timeout=30).json()["items"][0]["version"] == "1.0"

    add_fault(action="apply_then_drop", method="PUT", times=1)
    with pytest.raises(requests.ConnectionError):
        session.put(spec_url, headers=dev, json={**document, "version": "applied"}, timeout=30)
    assert session.get(spec_url, headers=dev, timeout=30).json()["items"][0]["version"] == "applied"

    log = session.get(server + "/_log", headers=headers, params={"method": "PUT"}, timeout=30).json()["requests"]
    assert [(entry["status"], entry["fault"]) for entry in log] == [(None, "drop"), (200, "apply_then_drop")]
