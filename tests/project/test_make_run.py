"""`make run PORT=<port>`: the web server, the worker and the embedded emulator all answer at that port.

Runs the real make target (migrate, seed_demo, scripts/run.py with runserver and qcluster) against a
SQLite database of its own on a free port, logs in as the demo staff user, clicks "Sync now" and waits
until the sync run, done by the worker over HTTP to the emulator on the same port, has synced every
sandbox.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_hands_its_port_to_the_emulator_address():
    dry = subprocess.run(["make", "-n", "run", "PORT=8801"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert 'FLOWADMIN_BASE_URL="${FLOWADMIN_BASE_URL:-http://127.0.0.1:8801}"' in dry.stdout
    assert "runserver 127.0.0.1:8801" in dry.stdout


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run ended early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"make run did not serve {url}:\n{log.read_text()[-3000:]}")


def test_make_run_on_another_port_syncs_from_the_page(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLOWADMIN_", "PLATFORM", "IMS_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
        DEBUG="true",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(url, process, log)
        browser = requests.Session()
        login_page = browser.get(url + "/accounts/login/", timeout=10).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        browser.post(
            url + "/accounts/login/",
            data={"username": "staff", "password": "flowadmin-demo", "csrfmiddlewaretoken": token},
            headers={"Referer": url + "/accounts/login/"},
            timeout=10,
        )
        page = browser.get(url + "/sandboxes/", timeout=10).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        started = browser.post(
            url + "/sandboxes/sync/",
            data={"csrfmiddlewaretoken": token},
            headers={"Referer": url + "/sandboxes/"},
            timeout=30,
        )
        assert started.status_code == 200, started.text[:2000]
        run_url = started.url
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            text = browser.get(run_url, timeout=10).text
            if "sandboxes synced." in text or "failed" in text or "finished with errors" in text:
                break
            time.sleep(1)
        else:
            pytest.fail(f"the sync did not finish:\n{text[-3000:]}\n{log.read_text()[-3000:]}")
        assert '<span class="badge badge-ok">done</span> 3 sandboxes synced.' in text, text[-3000:]
        sandboxes = browser.get(url + "/sandboxes/", timeout=10).text
        assert "Could not connect" not in sandboxes
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
