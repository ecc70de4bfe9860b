"""Real server processes: `horde serve` (gunicorn) on PostgreSQL and Redis, one per module."""

from __future__ import annotations

import pytest

from tests import support


@pytest.fixture(scope="module")
def e2e_env(tmp_path_factory, request):
    """Environment of a fresh, migrated PostgreSQL horde (image mode) with Redis."""
    env = support.migrated_server_env("horde_e2e", tmp_path_factory.mktemp("e2e"))
    yield env
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


@pytest.fixture(scope="module")
def server(e2e_env):
    proc = support.ServerProcess(e2e_env, workers=2).start()
    yield proc
    proc.stop()
