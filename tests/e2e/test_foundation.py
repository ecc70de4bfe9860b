"""The foundation against real processes: CLI, migrations, serve, rate limits, horde-sdk."""

from __future__ import annotations

import subprocess
import sys

import requests

from tests import support


def test_migration_on_empty_postgres_and_check(tmp_path):
    if not support.pg_reachable():
        support.unavailable("PostgreSQL")
    url = support.create_pg_database("horde_mig")
    env = {"HORDE_DATABASE_URL": url, "HORDE_DATA_DIR": str(tmp_path)}
    try:
        before = support.horde_cli("db", "check", env=env, check=False)
        assert before.returncode != 0 and "out of date" in before.stderr
        support.horde_cli("db", "upgrade", env=env)
        assert support.horde_cli("db", "check", env=env).returncode == 0
        alias, key = support.create_user_cli(env, "first")
        assert alias == "first#1" and len(key) == 22
    finally:
        support.drop_pg_database(url)


def test_migration_on_empty_sqlite(tmp_path):
    env = {"HORDE_DATA_DIR": str(tmp_path), "HORDE_MODE": "text"}
    support.horde_cli("db", "upgrade", env=env)
    assert (tmp_path / "horde-text.db").exists()
    assert not (tmp_path / "horde-image.db").exists()
    assert support.horde_cli("db", "check", env=env).returncode == 0


def test_serve_refuses_an_out_of_date_schema(tmp_path):
    env = {"HORDE_DATA_DIR": str(tmp_path), "HORDE_PORT": str(support.free_port())}
    proc = subprocess.run(
        [sys.executable, "-m", "horde.cli", "serve"], env={**__import__("os").environ, **env},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "out of date" in proc.stderr and "db upgrade" in proc.stderr


def test_default_sqlite_server_serves_heartbeat(tmp_path):
    """What `make run` does: migrate, then serve image mode on SQLite without Redis."""
    env = {"HORDE_DATA_DIR": str(tmp_path)}
    support.horde_cli("db", "upgrade", env=env)
    server = support.ServerProcess(env, workers=1).start(timeout=60)
    try:
        body = requests.get(f"{server.url}/api/v2/status/heartbeat", timeout=5).json()
        assert body["message"] == "OK"
        modes = requests.get(f"{server.url}/api/v2/generate/text/status/x", timeout=5)
        assert modes.status_code == 404 and modes.json()["rc"] == "ModeNotServed"
    finally:
        server.stop()


def test_cli_user_and_kudos_then_api(server, e2e_env):
    alias, key = support.create_user_cli(e2e_env, "cliuser", "--kudos", "250", "--trusted")
    body = requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": key}, timeout=5).json()
    assert body["username"] == alias and body["kudos"] == 250.0 and body["trusted"] is True
    out = support.horde_cli("user", "kudos", alias, "-50", env=e2e_env).stdout
    assert "200" in out
    assert requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": key}, timeout=5).json()["kudos"] == 200.0
    missing = support.horde_cli("user", "kudos", "nobody#999", "5", env=e2e_env, check=False)
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_horde_sdk_parses_common_routes_strictly(server, e2e_env):
    alias, key = support.create_user_cli(e2e_env, "sdkuser")
    result = support.run_sdk(server.url, "common_routes.py", api_key=key, missing_user_id=987654)
    assert result["heartbeat_message"] == "OK"
    assert result["find_user"]["username"] == alias
    assert result["details"]["username"] == alias
    assert result["find_user_private"] == {"sharedkey_ids": [], "worker_ids": []}
    assert alias in result["users_listed"] and "Anonymous#0" in result["users_listed"]
    assert result["news_titles"]
    assert result["error"]["rc"] == "UserNotFound"
    assert result["performance_workers"] >= 0


def test_rate_limits_answer_json_429_shared_across_processes(e2e_env):
    env = {**e2e_env, "HORDE_RATE_LIMITS": "true"}
    server = support.ServerProcess(env, workers=2).start()
    try:
        url = f"{server.url}/api/v2/status/modes"  # 30 per minute per IP
        statuses = [requests.get(url, timeout=5) for _ in range(32)]
        codes = [r.status_code for r in statuses]
        assert codes[:30] == [200] * 30, codes
        limited = statuses[-1]
        assert limited.status_code == 429
        assert limited.headers["Content-Type"].startswith("application/json")
        assert limited.json()["rc"] == "RateLimited" and "30 per 1 minute" in limited.json()["message"]
        assert "Retry-After" in limited.headers and "X-RateLimit-Limit" in statuses[0].headers
        # the heartbeat is never limited
        assert all(requests.get(f"{server.url}/api/v2/status/heartbeat", timeout=5).status_code == 200 for _ in range(100))
    finally:
        server.stop()
