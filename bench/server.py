"""gunicorn (gthread) on 127.0.0.1, running the project (with its emulator) on the bench database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(port: int) -> dict[str, str]:
    """What the bench process and its servers share: settings, database, where the emulator answers."""
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "FLOWADMIN_BASE_URL": f"http://127.0.0.1:{port}",
        "FLOWADMIN_EMULATOR": "on",
        "FLOWADMIN_EMULATOR_PUBLIC": "on",  # served under DEBUG off, on 127.0.0.1 only
    }


class Server:
    def __init__(self, *, port: int, workers: int, threads: int, log_path: Path):
        self.port, self.workers, self.threads, self.log_path = port, workers, threads, log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "flowadmin.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ]
        env = {**os.environ, **environment(self.port)}
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer on {self.url} in {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "_log", None):
            self._log.close()
