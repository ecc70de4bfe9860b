"""What the Docker image runs, without Docker (there is no daemon here): Horde built as a wheel,
installed (not editable) into a fresh virtual environment, started by the image's own
entrypoint script on a PostgreSQL database given as a plain `postgresql://` URL, and driven
through one generation loop; the image's health check asked of it. And several nodes that
start together migrate the database once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
import requests

from tests import support
from tests.imaging import REGEN, webp_bytes

ENTRYPOINT = support.ROOT / "config" / "docker-entrypoint.sh"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment holding Horde's wheel; returns its bin folder.

    The wheel is built from the files the Dockerfile copies, in a folder of its own. The
    environment reaches the dependencies through a .pth line naming the test environment's
    site-packages (a path only: that folder's own .pth files, among them the editable
    install's, are not run), so nothing is downloaded and `horde` is the wheel's."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(support.ROOT / name, source / name)
    shutil.copytree(support.ROOT / "horde", source / "horde", ignore=shutil.ignore_patterns("__pycache__"))
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    wheel = next(dist.glob("horde-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True,
    ).stdout.strip())
    (purelib / "horde-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300, env=_clean_env(venv / "bin"),
    )
    return venv / "bin"


def _clean_env(bin_dir: Path, **horde: str) -> dict[str, str]:
    """What a container has: a PATH, HORDE_* variables; no PYTHONPATH to the sources."""
    return {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8", **horde}


def test_the_wheel_carries_the_migrations(installed):
    where = subprocess.run(
        [str(installed / "python"), "-c", "import horde, horde.db; print(horde.__file__); print(horde.db.MIGRATIONS_DIR)"],
        capture_output=True, text=True, check=True, env=_clean_env(installed), cwd="/",
    ).stdout.split()
    assert "site-packages" in where[0] and str(support.ROOT) not in where[0]
    migrations = Path(where[1])
    assert (migrations / "alembic.ini").exists() and (migrations / "env.py").exists()
    shipped = sorted(p.name for p in (migrations / "versions").glob("*.py"))
    in_repo = sorted(p.name for p in (support.ROOT / "horde" / "migrations" / "versions").glob("*.py"))
    assert shipped == in_repo and shipped


def test_the_image_entrypoint_migrates_serves_and_completes_a_loop(installed, tmp_path):
    if not support.pg_reachable():
        support.unavailable("PostgreSQL at 127.0.0.1:5432")
    if not support.redis_reachable():
        support.unavailable("Redis at 127.0.0.1:6379")
    url = support.create_pg_database("horde_wheel")
    name = url.rsplit("/", 1)[1]
    port = support.free_port()
    env = _clean_env(
        installed,
        # What platforms hand out: no driver in the scheme.
        HORDE_DATABASE_URL="postgresql://" + url.split("://", 1)[1],
        HORDE_REDIS_URL=support.REDIS_URL, HORDE_REDIS_PREFIX=f"test:{name}:",
        # As the Dockerfile sets them: every address, production, a data folder (the volume).
        HORDE_HOST="0.0.0.0", HORDE_PORT=str(port), HORDE_ENV="production", HORDE_DATA_DIR=str(tmp_path / "data"),
        HORDE_SECRET_KEY="wheel-test-secret-0123456789", HORDE_WEB_WORKERS="1", HORDE_RATE_LIMITS="false",
        HORDE_LOG_LEVEL="warning",
    )
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"the entrypoint exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no answer in 90 s:\n{log.read_text()}"
            try:
                if requests.get(f"{base}/api/v2/status/heartbeat", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        assert "database is up to date" in log.read_text()
        # The image's HEALTHCHECK command.
        health = subprocess.run([str(installed / "horde"), "healthcheck"], env=env, capture_output=True, text=True, timeout=30)
        assert health.returncode == 0, health.stderr

        created = subprocess.run(
            [str(installed / "horde"), "user", "create", "--username", "wheel-owner", "--trusted"],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout
        key = created.split("api key: ", 1)[1].split()[0]
        queued = requests.post(f"{base}/api/v2/generate/async", json={"prompt": "from a wheel"}, headers={"apikey": "0000000000"}, timeout=10)
        assert queued.status_code == 202, queued.text
        request_id = queued.json()["id"]
        job = requests.post(
            f"{base}/api/v2/generate/pop", json={"name": "wheel-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN},
            headers={"apikey": key}, timeout=10,
        ).json()
        assert job["id"] is not None, job
        # Listening on 0.0.0.0 without HORDE_PUBLIC_URL: the link names the address the worker used.
        assert job["r2_upload"].startswith(f"{base}/api/v2/results/upload/")
        image = webp_bytes(color=(9, 8, 7))
        assert requests.put(job["r2_upload"], data=image, timeout=10).status_code == 200
        submitted = requests.post(
            f"{base}/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 1}, headers={"apikey": key}, timeout=10,
        )
        assert submitted.status_code == 200 and submitted.json()["reward"] > 0
        assert requests.get(f"{base}/api/v2/generate/check/{request_id}", timeout=10).json()["done"] is True
        generation = requests.get(f"{base}/api/v2/generate/status/{request_id}", timeout=10).json()["generations"][0]
        assert requests.get(generation["img"], timeout=10).content == image
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        support.drop_pg_database(url)
    # Once it is gone the health check says so.
    down = subprocess.run([str(installed / "horde"), "healthcheck", "--timeout", "2"], env=env, capture_output=True, text=True, timeout=30)
    assert down.returncode == 1 and "does not answer" in down.stderr


def test_nodes_starting_together_migrate_once(tmp_path):
    if not support.pg_reachable():
        support.unavailable("PostgreSQL at 127.0.0.1:5432")
    url = support.create_pg_database("horde_together")
    try:
        env = {**os.environ, "HORDE_DATABASE_URL": url, "HORDE_LOG_LEVEL": "info"}
        nodes = [
            subprocess.Popen(
                [sys.executable, "-m", "horde.cli", "db", "upgrade"], env={**env, "HORDE_DATA_DIR": str(tmp_path / f"node{n}")},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for n in range(3)
        ]
        outcomes = [(node.wait(120), *node.communicate()) for node in nodes]
        assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
        assert support.horde_cli("db", "check", env={"HORDE_DATABASE_URL": url, "HORDE_DATA_DIR": str(tmp_path)}).returncode == 0
        # One migrated; the others waited and found nothing to do.
        ran = [err.count("Running upgrade") for _, _, err in outcomes]
        assert sorted(ran)[:2] == [0, 0] and max(ran) > 0, ran
    finally:
        support.drop_pg_database(url)
