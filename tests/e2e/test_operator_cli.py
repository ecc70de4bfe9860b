"""The `horde` command as an operator uses it (real processes, a SQLite horde per module)."""

from __future__ import annotations

import pytest

from tests import support


@pytest.fixture(scope="module")
def text_only(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli-text")
    env = {"HORDE_DATA_DIR": str(data), "HORDE_LOG_LEVEL": "warning"}
    # --mode after the subcommand, as after `horde`: the text database is the one migrated.
    support.horde_cli("db", "upgrade", "--mode", "text", env=env)
    assert (data / "horde-text.db").exists() and not (data / "horde-image.db").exists()
    return env


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    env = {"HORDE_DATA_DIR": str(tmp_path_factory.mktemp("cli")), "HORDE_LOG_LEVEL": "warning"}
    support.horde_cli("db", "upgrade", env=env)
    return env


@pytest.mark.parametrize("command", [["db", "check"], ["worker", "list"], ["filters", "export"]])
def test_every_command_takes_mode(text_only, command):
    done = support.horde_cli(*command, "--mode", "text", env=text_only, check=False)
    assert done.returncode == 0, done.stderr
    before = support.horde_cli("--mode", "text", *command, env=text_only, check=False)
    assert before.returncode == 0, before.stderr
    image = support.horde_cli(*command, "--mode", "image", env=text_only, check=False)
    assert image.returncode != 0  # the image database was never migrated


def test_user_create_applies_the_register_rules(env):
    """The refusals (and their words) of /register: one rule in horde.domain.accounts.users."""
    from horde.domain import errors

    support.create_user_cli(env, "Carol")
    refusals = [("carol", errors.UsernameTaken), ("a<b", errors.InvalidUserName), ("x" * 31, errors.TooLongUserName),
                ("   ", errors.MissingUserName)]
    for refused, error in refusals:
        done = support.horde_cli("user", "create", "--username", refused, env=env, check=False)
        assert done.returncode == 1 and done.stderr.strip() == f"Error: {error().message}", (refused, done.stderr)


def test_user_set_changes_roles_limits_kudos_and_flags(env):
    alias, key = support.create_user_cli(env, "dave")
    done = support.horde_cli(
        "user", "set", "DAVE", "--trusted", "--concurrency", "7", "--kudos", "25", "--flagged", "--worker-invited", "2", env=env,
    )
    assert f"{alias}:" in done.stdout
    for shown in ("trusted=True", "concurrency=7", "new_kudos=25", "flagged=True", "worker_invited=2"):
        assert shown in done.stdout
    again = support.horde_cli("user", "set", alias, "--no-trusted", "--moderator", env=env).stdout
    assert "trusted=False" not in again or "moderator=True" in again
    nothing = support.horde_cli("user", "set", alias, env=env, check=False)
    assert nothing.returncode == 2 and "Nothing to change" in nothing.stderr
    missing = support.horde_cli("user", "set", "nobody-here", "--trusted", env=env, check=False)
    assert missing.returncode == 1 and "No user named" in missing.stderr


def test_worker_commands(env):
    import requests

    from tests.imaging import REGEN

    _, key = support.create_user_cli(env, "erin", "--trusted")
    server = support.ServerProcess(env, workers=1).start()
    try:
        popped = requests.post(
            f"{server.url}/api/v2/generate/pop", json={"name": "erin-gpu", "models": ["stable_diffusion"], "bridge_agent": REGEN},
            headers={"apikey": key}, timeout=10,
        )
        assert popped.status_code == 200
        listed = support.horde_cli("worker", "list", env=env).stdout
        assert "erin-gpu" in listed and "erin#" in listed and "online" in listed
        changed = support.horde_cli("worker", "set", "ERIN-GPU", "--maintenance", "--message", "new drivers", env=env).stdout
        assert "maintenance=True" in changed
        worker = requests.get(f"{server.url}/api/v2/workers/name/erin-gpu", timeout=10).json()
        assert worker["maintenance_mode"] is True
        assert "maintenance" in support.horde_cli("worker", "list", env=env).stdout
        renamed = support.horde_cli("worker", "set", "erin-gpu", "--name", "erin-gpu-2", env=env).stdout
        assert "name=erin-gpu-2" in renamed
        gone = support.horde_cli("worker", "delete", "erin-gpu-2", env=env).stdout
        assert gone.startswith("deleted erin-gpu-2")
        assert requests.get(f"{server.url}/api/v2/workers/name/erin-gpu-2", timeout=10).status_code == 404
        unknown = support.horde_cli("worker", "delete", "erin-gpu-2", env=env, check=False)
        assert unknown.returncode == 1 and "not found" in unknown.stderr
    finally:
        server.stop()


@pytest.mark.parametrize("command", [["db", "upgrade"], ["user", "create", "--username", "x"], ["db", "check"], ["worker", "list"]])
def test_an_unreachable_database_is_one_line(env, command):
    port = support.free_port()  # nothing listens there
    done = support.horde_cli(*command, env={**env, "HORDE_DATABASE_URL": f"postgresql://horde:pw@127.0.0.1:{port}/horde"}, check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Connection refused" in lines[0] or "database" in lines[0]
    assert "pw" not in lines[0]  # the password is not printed


def test_serve_refuses_an_unreachable_database_in_one_line(env):
    port = support.free_port()
    done = support.horde_cli("serve", env={**env, "HORDE_DATABASE_URL": f"postgres://h:pw@127.0.0.1:{port}/h"}, check=False)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "refusing to start" in done.stderr


def test_healthcheck_fails_when_nothing_answers(env):
    done = support.horde_cli("healthcheck", "--timeout", "1", env={**env, "HORDE_PORT": str(support.free_port())}, check=False)
    assert done.returncode == 1 and "does not answer" in done.stderr
