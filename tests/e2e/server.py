"""A real flowadmin server for the browser suite: gunicorn on a free loopback port, a throw-away database.

Not the Django test client and not LiveServerThread: the dashboard calls the embedded emulator over
HTTP, so it is served the way production serves it (gunicorn, threaded worker, whitenoise), in its
own process with its own environment.

    with E2EServer() as server:
        server.url        # http://127.0.0.1:<port>
        server.log_tail()  # the last lines gunicorn, migrate, seed_demo and the worker wrote
        server.worker     # the background worker (`manage.py qcluster`) on the same database

A worker runs next to gunicorn (``worker=False`` for none), as `make run` and production have one:
the journeys that sync or roll out need it. The scheduled sync is off (FLOWADMIN_SYNC_SCHEDULE_MINUTES
0) so that no sync starts on its own in the middle of a journey.

The database is a SQLite file in a temporary folder, or, when ``DATABASE_URL`` points at PostgreSQL,
a database ``flowadmin_e2e_<pid>_<port>`` created on that server and dropped again at the end.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import environ

from tests.fixtures.databases import postgres_copy, sqlite_copy, with_database_name

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# The emulator's demo credentials (it accepts exactly these while it is on).
DEMO_CLIENT_ID = "flowadmin-demo-client"
DEMO_CLIENT_SECRET = "flowadmin-demo-secret"
DEMO_ORG_ID = "0123456789ABCDEF01234567@AdobeOrg"

STARTUP_DEADLINE_SECONDS = 90  # a ceiling for a loaded 2-core machine, not a performance expectation
STOP_DEADLINE_SECONDS = 15
WORKER_RUNNING = "] running."  # qcluster's line once its workers are up: "Q Cluster <name> [flowadmin] running."
POSTGRES_ENGINES = ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis")


class ServerError(RuntimeError):
    """The server could not be prepared or started; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def throwaway_database(workdir: Path, source_url: str | None = None, *, name: str = "") -> Iterator[str]:
    """Yield the DATABASE_URL of a migrated database (tests.fixtures.databases) that is removed afterwards.

    On PostgreSQL it is ``name`` (``flowadmin_e2e_<pid>`` by default): servers running side by side
    in one test process need names of their own.
    """
    source_url = source_url if source_url is not None else os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(source_url) if source_url else {}
    if config.get("ENGINE") not in POSTGRES_ENGINES:
        sqlite_copy(workdir / "e2e.sqlite3")
        yield f"sqlite:///{workdir / 'e2e.sqlite3'}"
        return

    import psycopg
    from psycopg import sql

    name = name or f"flowadmin_e2e_{os.getpid()}"
    connect_kwargs = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "autocommit": True,
    }

    def admin_connection():
        # The maintenance database first; the one in DATABASE_URL when "postgres" is not reachable.
        try:
            return psycopg.connect(dbname="postgres", **connect_kwargs)
        except psycopg.OperationalError:
            return psycopg.connect(dbname=config["NAME"], **connect_kwargs)

    with admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        postgres_copy(conn, name, source_url)
    try:
        yield with_database_name(source_url, name)
    finally:
        with admin_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Worker:
    """A background worker, `manage.py qcluster`, with a server's environment (so its database), in a
    process group of its own; its output goes to its own log file.

        worker.start()   # returns once the cluster says it is running
        worker.kill()    # SIGKILL to the whole group: no task is finished or acknowledged
        worker.stop()    # SIGINT, as Ctrl-C: the running task finishes first
    """

    def __init__(self, environment: Callable[[], dict[str, str]], log_path: Path):
        self.environment = environment
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        self.starts += 1
        self.log_path.write_text("")
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=REPO_ROOT,
                # INFO: the cluster's "running." line is how start() knows it is up.
                env={**self.environment(), "LOG_LEVEL": "INFO", **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"qcluster exited ({self.process.returncode}):\n{self.log_tail()}")
            if WORKER_RUNNING in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise ServerError(f"qcluster did not start:\n{self.log_tail()}")

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_DEADLINE_SECONDS)
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no worker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class E2EServer:
    """flowadmin under gunicorn with the embedded emulator and the demo users; use as a context manager."""

    def __init__(
        self,
        *,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        keep_files: bool = False,
        worker: bool = True,
    ):
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.extra_env = dict(extra_env or {})
        self.keep_files = keep_files or os.environ.get("FLOWADMIN_E2E_KEEP", "") not in ("", "0")
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self.database_url = ""
        self._process: subprocess.Popen | None = None
        self._stack = contextlib.ExitStack()
        self.with_worker = worker
        self.worker: Worker | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> E2EServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="flowadmin-e2e-"))
        self.log_path = self.workdir / "server.log"
        self.log_path.touch()
        self._stack.callback(self._remove_workdir)
        database = f"flowadmin_e2e_{os.getpid()}_{self.port}"  # unique while a second server runs beside
        self.database_url = self._stack.enter_context(throwaway_database(self.workdir, name=database))
        self._manage("migrate", "--noinput")
        self._manage("seed_demo")
        self._spawn_gunicorn()
        atexit.register(self.stop)
        self._wait_until_healthy()
        self._start_worker()

    def _start_worker(self) -> None:
        self.worker = Worker(self.environment, self.workdir / "worker.log")
        self._stack.callback(self.worker.stop)  # before the database goes (callbacks run last first)
        if self.with_worker:
            self.worker.start()

    def stop(self) -> None:
        """Stop the worker and gunicorn (their process groups), drop the database, remove the temp folder.
        Idempotent."""
        atexit.unregister(self.stop)
        if self.worker is not None:
            self.worker.stop()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._stack.close()

    # --- what tests use -----------------------------------------------------------------------
    def log_tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no server log)"
        text = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        if self.worker is not None and self.worker.starts:
            text += "\n--- worker ---\n" + self.worker.log_tail(lines // 2)
        return text

    def manage(self, *args: str) -> None:
        """Run a management command against the server's database (output goes to the server log)."""
        self._manage(*args)

    def environment(self) -> dict[str, str]:
        """The server's environment: the emulator on, demo credentials, DEBUG (the demo users need it)."""
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "FLOWADMIN_BASE_URL": self.url,
                "DEBUG": "true",
                "FLOWADMIN_EMULATOR": "true",
                # Set, not removed, so that a developer's .env cannot point the suite at Adobe.
                "PLATFORM_URL": "",
                "IMS_URL": f"{self.url}/emulator",
                "ADOBE_CLIENT_ID": DEMO_CLIENT_ID,
                "ADOBE_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "ADOBE_ORG_ID": DEMO_ORG_ID,
                "ALLOWED_HOSTS": f"{HOST},localhost",
                # Checkpoints signed with the development key (DEBUG), their files beside the database.
                "AUDIT_CHECKPOINT_DIR": str(self.workdir / "audit-checkpoints"),
                "PYTHONUNBUFFERED": "1",
                "FLOWADMIN_SYNC_SCHEDULE_MINUTES": "0",
                "FLOWADMIN_TASKS_SYNC": "false",
            }
        )
        env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py and wsgi.py pick flowadmin.settings
        env.update(self.extra_env)
        return env

    # --- internals ----------------------------------------------------------------------------
    def _manage(self, *args: str) -> None:
        with self.log_path.open("a") as log:
            log.write(f"$ manage.py {' '.join(args)}\n")
            log.flush()
            result = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=REPO_ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        if result.returncode != 0:
            raise ServerError(f"manage.py {' '.join(args)} exited {result.returncode}:\n{self.log_tail()}")

    def _spawn_gunicorn(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "flowadmin.wsgi",
            "--worker-class", "gthread", "--threads", "8", "--workers", "1",
            "--bind", f"{HOST}:{self.port}",
            "--access-logfile", "-", "--error-logfile", "-", "--log-level", "info",
            "--graceful-timeout", "5",
            "--no-control-socket",  # the default socket lives in ~/.gunicorn: shared by every server
            "--worker-tmp-dir", str(self.workdir),
        ]  # fmt: skip
        with self.log_path.open("a") as log:
            log.write(f"$ {' '.join(command[1:])}\n")
            log.flush()
            self._process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends the master and its worker
            )

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        last_error = ""
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise ServerError(f"gunicorn exited ({code}) before answering /healthz:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                last_error = str(error)
            time.sleep(0.1)
        raise ServerError(f"/healthz did not answer 200 ({last_error}):\n{self.log_tail()}")

    def _remove_workdir(self) -> None:
        if self.workdir is None:
            return
        if self.keep_files:
            print(f"flowadmin e2e: kept {self.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
