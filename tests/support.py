"""Helpers shared by the test suites: services, databases, server processes, horde-sdk."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("HORDE_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HORDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SDK_PYTHON = Path(os.environ.get("HORDE_SDK_PYTHON", ROOT / ".venv-sdk" / "bin" / "python"))


def services_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("HORDE_REQUIRE_SERVICES") == "1"


def unavailable(what: str) -> None:
    """A missing service: a failure in CI, one clear skip line locally."""
    message = f"{what} is not reachable"
    if services_required():
        pytest.fail(f"{message} (CI=true / HORDE_REQUIRE_SERVICES=1: services are required)")
    pytest.skip(message)


def pg_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def create_pg_database(prefix: str = "horde_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def migrated_server_env(prefix: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a fresh, migrated PostgreSQL horde with Redis, for server processes.
    Drop its database with `drop_pg_database(env["HORDE_DATABASE_URL"])`."""
    if not pg_reachable():
        unavailable("PostgreSQL at 127.0.0.1:5432")
    if not redis_reachable():
        unavailable("Redis at 127.0.0.1:6379")
    url = create_pg_database(prefix)
    env = {
        "HORDE_DATABASE_URL": url,
        "HORDE_REDIS_URL": "redis://127.0.0.1:6379/14",
        # A key prefix of its own in Redis: modules (and runs) must not share counters.
        "HORDE_REDIS_PREFIX": f"test:{url.rsplit('/', 1)[1]}:",
        "HORDE_DATA_DIR": str(data_dir),
        "HORDE_SECRET_KEY": f"{prefix}-secret",
        "HORDE_RATE_LIMITS": "false",
        "HORDE_MODE": "image",
        "HORDE_LOG_LEVEL": "warning",
        **extra,
    }
    horde_cli("db", "upgrade", env=env)
    return env


def horde_cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "horde.cli", *args], env=full_env, capture_output=True, text=True, check=check, timeout=120
    )


def create_user_cli(env: dict[str, str], username: str, *flags: str) -> tuple[str, str]:
    """Create a user with `horde user create`; return (alias, api key)."""
    out = horde_cli("user", "create", "--username", username, *flags, env=env).stdout
    alias = out.split("created ", 1)[1].split()[0]
    key = out.split("api key: ", 1)[1].split()[0]
    return alias, key


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A real `horde serve` (gunicorn) process on a free port."""

    def __init__(self, env: dict[str, str], workers: int = 2, extra_args: tuple[str, ...] = (), port: int | None = None):
        self.port = port or free_port()
        self.env = {**os.environ, **env, "HORDE_PORT": str(self.port), "HORDE_HOST": "127.0.0.1"}
        self.workers = workers
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(env.get("HORDE_DATA_DIR", "/tmp")) / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> "ServerProcess":
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "horde.cli", "serve", "--workers", str(self.workers), *self.extra_args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if requests.get(f"{self.url}/api/v2/status/heartbeat", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_sdk(base_url: str, script: str, api_key: str = "0000000000", timeout: float = 300, **params) -> dict:
    """Run one of tests/sdk_scripts/*.py with horde-sdk 0.33.3 in strict mode; return its JSON."""
    if not SDK_PYTHON.exists():
        if services_required():
            pytest.fail(f"horde-sdk environment missing at {SDK_PYTHON}: run `make sdk-env`")
        pytest.skip(f"horde-sdk environment missing at {SDK_PYTHON} (make sdk-env)")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AI_HORDE")},
        "AI_HORDE_URL": f"{base_url}/api/",
        "TESTS_ONGOING": "1",
        "LOGFIRE_IGNORE_NO_CONFIG": "1",
        "HORDE_SDK_TEST_KEY": api_key,
        "HORDE_SDK_TEST_PARAMS": json.dumps(params),
    }
    proc = subprocess.run(
        [str(SDK_PYTHON), str(ROOT / "tests" / "sdk_scripts" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(ROOT / "tests" / "sdk_scripts"),
    )
    if proc.returncode != 0:
        raise AssertionError(f"sdk script {script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"sdk script printed no JSON:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1])
