"""Real server processes for the crash and load tests: the browser suite's gunicorn server, with its
own database, a kill and a restart, and signed-in users that talk to it over HTTP like a browser.

    with Server("crash") as server:
        server.kill()                     # SIGKILL to gunicorn's master and worker, mid-request or not
        server.restart()                  # same port, same database
        server.manage("reconcile_changes")
        server.query("from flowadmin.changes.models import ChangeRequest as C; out = list(C.objects.values())")
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import environ
import requests

from tests.e2e.server import POSTGRES_ENGINES, REPO_ROOT, E2EServer
from tests.fixtures.databases import postgres_copy, sqlite_copy, with_database_name

DEMO_PASSWORD = "flowadmin-demo"
TIMEOUT = (3.05, 60)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@contextlib.contextmanager
def own_database(workdir: Path, label: str, *, sqlite: bool = False) -> Iterator[str]:
    """A migrated database named after ``label`` (PostgreSQL when DATABASE_URL says so), removed afterwards."""
    source_url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(source_url) if source_url else {}
    if sqlite or config.get("ENGINE") not in POSTGRES_ENGINES:
        sqlite_copy(workdir / (label + ".sqlite3"))
        yield f"sqlite:///{workdir / (label + '.sqlite3')}"
        return
    import psycopg
    from psycopg import sql

    name = f"flowadmin_{label}_{os.getpid()}"
    options = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "autocommit": True,
        "dbname": "postgres",
    }

    def recreate(create: bool) -> None:
        with psycopg.connect(**options) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if create:
                postgres_copy(conn, name, source_url)

    recreate(True)
    try:
        yield with_database_name(source_url, name)
    finally:
        recreate(False)


class Server(E2EServer):
    """gunicorn (threaded worker) with the embedded emulator and the demo users, on a free loopback port."""

    def __init__(self, label: str, *, sqlite: bool = False, extra_env: dict[str, str] | None = None):
        super().__init__(extra_env={"LOG_LEVEL": "WARNING", **(extra_env or {})})
        self.label = label
        self.sqlite = sqlite

    def start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"flowadmin-{self.label}-"))
        self.log_path = self.workdir / "server.log"
        self.log_path.touch()
        self._stack.callback(self._remove_workdir)
        self.database_url = self._stack.enter_context(own_database(self.workdir, self.label, sqlite=self.sqlite))
        self._manage("migrate", "--noinput")
        self._manage("seed_demo")
        self._spawn_gunicorn()
        atexit.register(self.stop)
        self._wait_until_healthy()

    def kill(self) -> None:
        """SIGKILL to the whole process group: no cleanup, no response, no finally clause runs."""
        process, self._process = self._process, None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def restart(self) -> None:
        self._spawn_gunicorn()
        self._wait_until_healthy()

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def query(self, code: str):
        """Run ``code`` in the server's Django (``manage.py shell``); it sets ``out``, returned as JSON data."""
        result = self.manage("shell", "-c", f"import json\n{code}\nprint(json.dumps(out, default=str))")
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.strip().splitlines()[-1])


class User:
    """A signed-in person's browser: session cookie, CSRF token taken from the page, no JavaScript."""

    def __init__(self, server_url: str, username: str, password: str = DEMO_PASSWORD):
        self.url = server_url.rstrip("/")
        self.username = username
        self.session = requests.Session()
        response = self.post("/accounts/login/", {"username": username, "password": password}, page="/accounts/login/")
        assert response.status_code == 302, f"{username} could not log in: HTTP {response.status_code}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.url + path, timeout=TIMEOUT, allow_redirects=False, **kwargs)

    def post(self, path: str, data: dict | None = None, *, page: str | None = None, **kwargs) -> requests.Response:
        """POST as the form on ``page`` (default: the home page) would, its CSRF token included."""
        token = TOKEN.search(self.get(page or "/").text).group(1)
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.post(
            self.url + path, data={**(data or {}), "csrfmiddlewaretoken": token}, allow_redirects=False, **kwargs
        )

    def close(self) -> None:
        self.session.close()
