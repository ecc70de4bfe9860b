"""A server to benchmark: `horde serve` (gunicorn) on a fresh PostgreSQL database, with Redis."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get("HORDE_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("HORDE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def _admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@contextlib.contextmanager
def scratch_app(prefix: str, **settings) -> Iterator:
    """An in-process app on a fresh, migrated PostgreSQL database, dropped afterwards."""
    from flask_migrate import upgrade

    from horde.app import create_app
    from horde.db import MIGRATIONS_DIR
    from horde.settings import Settings

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        app = create_app(Settings(database_url=url, data_dir=tempfile.mkdtemp(), secret_key="bench", **settings))
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
        try:
            yield app
        finally:
            app.extensions["horde"].db.dispose()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BenchServer:
    def __init__(self, workers: int, port: int, data_dir: Path, **env: str):
        self.name = f"horde_bench_{uuid.uuid4().hex[:8]}"
        self.url = f"http://127.0.0.1:{port}"
        self.database_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{self.name}"
        self.env = {
            **os.environ,
            "HORDE_MODE": os.environ.get("HORDE_MODE", "image"),
            "HORDE_DATABASE_URL": self.database_url,
            "HORDE_REDIS_URL": REDIS,
            "HORDE_REDIS_PREFIX": f"{self.name}:",
            "HORDE_RATE_LIMITS": "false",
            "HORDE_ACCESS_LOG": "off",  # a log line per request would be measured too
            "HORDE_SECRET_KEY": "bench",
            "HORDE_DATA_DIR": str(data_dir),
            "HORDE_PORT": str(port),
            "HORDE_HOST": "127.0.0.1",
            "HORDE_LOG_LEVEL": "warning",
            "HORDE_WEB_WORKERS": str(workers),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "horde.cli", *args], env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def user(self, name: str, *flags: str) -> str:
        out = self.cli("user", "create", "--username", name, *flags)
        return re.search(r"api key: (\S+)", out).group(1)

    def start(self) -> "BenchServer":
        _admin(f'CREATE DATABASE "{self.name}"')
        self.cli("db", "upgrade")
        return self._launch([sys.executable, "-m", "horde.cli", "serve"], "/api/v2/status/heartbeat")

    def _launch(self, command: list[str], ready_path: str) -> "BenchServer":
        self.proc = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                if requests.get(f"{self.url}{ready_path}", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"bench server did not start: {' '.join(command)}")

    def pids(self) -> list[int]:
        if self.proc is None:
            return []
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        return [self.proc.pid, *map(int, children)]

    def stop(self) -> None:
        self._terminate()
        _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _terminate(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


class CeilingServer(BenchServer):
    """bench/ceiling_app.py under gunicorn with `horde serve`'s own configuration
    (horde.gunicorn_conf, read from the same HORDE_* variables as a BenchServer's), without
    the scheduler. Its database URL only shapes the settings as for PostgreSQL (one core
    slot per process); the app never connects."""

    def __init__(self, workers: int, port: int, data_dir: Path, core_slot: bool = True):
        super().__init__(workers, port, data_dir, HORDE_MODE="image", HORDE_RUN_JOBS="false",
                         HORDE_BENCH_CEILING_SLOT="1" if core_slot else "0")

    def start(self) -> "CeilingServer":
        command = [sys.executable, "-m", "gunicorn", "-c", "python:horde.gunicorn_conf", "bench.ceiling_app:app"]
        return self._launch(command, "/api/v2/generate/check/ready")

    def stop(self) -> None:
        self._terminate()  # no database to drop
