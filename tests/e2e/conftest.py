"""Real server processes: `horde serve` (gunicorn) on PostgreSQL and Redis, one per module."""

from __future__ import annotations

import pytest

from tests import support


@pytest.fixture(scope="module")
def e2e_env(tmp_path_factory, request):
    """Environment of a fresh, migrated PostgreSQL horde (image mode) with Redis."""
    if not support.pg_reachable():
        support.unavailable("PostgreSQL at 127.0.0.1:5432")
    if not support.redis_reachable():
        support.unavailable("Redis at 127.0.0.1:6379")
    url = support.create_pg_database("horde_e2e")
    data_dir = tmp_path_factory.mktemp("e2e")
    env = {
        "HORDE_DATABASE_URL": url,
        "HORDE_REDIS_URL": "redis://127.0.0.1:6379/14",
        "HORDE_DATA_DIR": str(data_dir),
        "HORDE_SECRET_KEY": "e2e-secret",
        "HORDE_RATE_LIMITS": "false",
        "HORDE_MODE": "image",
        "HORDE_LOG_LEVEL": "warning",
    }
    # A key prefix of its own in Redis: modules (and runs) must not share counters.
    env["HORDE_REDIS_PREFIX"] = f"test:{url.rsplit('/', 1)[1]}:"
    support.horde_cli("db", "upgrade", env=env)
    yield env
    support.drop_pg_database(url)


@pytest.fixture(scope="module")
def server(e2e_env):
    proc = support.ServerProcess(e2e_env, workers=2).start()
    yield proc
    proc.stop()
