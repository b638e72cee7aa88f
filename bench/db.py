"""The throw-away database of a run: a SQLite temp file, or ``flowadmin_bench_<pid>`` on the PostgreSQL
server ``DATABASE_URL`` points at. Created before Django starts, dropped at the end."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import environ


@dataclass(frozen=True)
class BenchDatabase:
    vendor: str  # "sqlite" or "postgresql"
    name: str  # file path or database name
    config: dict

    @property
    def manifest_path(self) -> Path:
        """Where --keep-db leaves what --reuse-db needs to measure this database again."""
        return Path(tempfile.gettempdir()) / f"{Path(self.name).name}.manifest.json"

    @property
    def label(self) -> str:
        return f"SQLite ({self.name})" if self.vendor == "sqlite" else f"PostgreSQL database {self.name}"

    def _admin_connection(self):
        import psycopg

        return psycopg.connect(
            host=self.config.get("HOST") or None,
            port=self.config.get("PORT") or None,
            user=self.config.get("USER") or None,
            password=self.config.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        )

    def create(self) -> None:
        if self.vendor == "sqlite":
            self.drop()
            return
        with self._admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.vendor == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(self.name + suffix).unlink(missing_ok=True)
        else:
            with self._admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.manifest_path.unlink(missing_ok=True)


def bench_database(tag: str = "", *, reuse: str = "") -> BenchDatabase:
    """The database this run uses (not created yet), from ``DATABASE_URL`` (SQLite when unset);
    ``reuse``: the name of one a run kept."""
    url = os.environ.get("DATABASE_URL", "")
    suffix = f"{os.getpid()}{tag}"
    if not url or url.startswith("sqlite"):
        path = reuse or str(Path(tempfile.gettempdir()) / f"flowadmin-bench-{suffix}.sqlite3")
        return BenchDatabase(vendor="sqlite", name=path, config={})
    config = environ.Env.db_url_config(url)
    return BenchDatabase(vendor="postgresql", name=reuse or f"flowadmin_bench_{suffix}", config=config)


def use(database: BenchDatabase) -> None:
    """Point this process (and the processes it starts) at ``database``, before Django is set up."""
    os.environ["FLOWADMIN_BENCH_DB"] = database.name
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
