"""The secret rules against real processes: production without a secret does not start (with
one line naming the variable); a development server keeps its generated secret, so API keys
stay valid across restarts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import requests

from tests import support


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
    return subprocess.run(args, env={**clean, **env}, capture_output=True, text=True, timeout=60, cwd=support.ROOT)


@pytest.mark.parametrize(
    "env",
    [{"HORDE_ENV": "production"}, {"HORDE_HOST": "0.0.0.0"}],
    ids=["HORDE_ENV=production", "non-loopback address"],
)
@pytest.mark.parametrize(
    "command",
    [["-m", "horde.cli", "serve"], ["-m", "gunicorn", "-c", "config/gunicorn.conf.py", "horde.wsgi:app"],
     ["-m", "horde.cli", "user", "create", "--username", "someone"]],
    ids=["horde serve", "gunicorn", "horde user create"],
)
def test_without_a_secret_outside_development_nothing_starts(tmp_path, env, command):
    proc = _run([sys.executable, *command], {"HORDE_DATA_DIR": str(tmp_path), "HORDE_PORT": str(support.free_port()), **env})
    assert proc.returncode != 0
    lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    assert len(lines) == 1 and "HORDE_SECRET_KEY" in lines[0], lines
    assert list(tmp_path.iterdir()) == []  # no secret was made up, nothing was written


def test_a_development_server_keeps_its_secret_across_restarts(tmp_path):
    env = {"HORDE_DATA_DIR": str(tmp_path), "HORDE_LOG_LEVEL": "warning"}
    support.horde_cli("db", "upgrade", env=env)
    secret_file = tmp_path / "secret_key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    _, key = support.create_user_cli(env, "keeper")
    for _ in range(2):  # the key the CLI made works on a server, and after its restart
        server = support.ServerProcess(env, workers=1).start()
        try:
            found = requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": key}, timeout=5)
            assert found.status_code == 200 and found.json()["username"].startswith("keeper#")
        finally:
            server.stop()
    assert secret_file.read_text().strip() and stat.S_IMODE(secret_file.stat().st_mode) == 0o600
