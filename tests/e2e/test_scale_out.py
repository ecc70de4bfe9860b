"""Several nodes, one horde: two `horde serve` processes (gunicorn, each with its scheduler
process) on their own data folders, sharing one PostgreSQL, one Redis and one S3-compatible
store (moto's server). Any node serves any step; upkeep runs on exactly one node, and when
that node dies another takes over within seconds."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import boto3
import pytest
import redis
import requests

from tests import support
from tests.imaging import REGEN, webp_bytes

HEARTBEAT = "scheduler:heartbeat"  # written by the leader's periodic "heartbeat" job (horde.jobs)


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = support.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s").create_bucket(
        Bucket="horde-nodes"
    )
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory, s3_endpoint):
    env = support.migrated_server_env(
        "horde_nodes", tmp_path_factory.mktemp("nodes"), HORDE_REDIS_URL=support.REDIS_URL,
        HORDE_S3_BUCKET="horde-nodes", HORDE_S3_ENDPOINT_URL=s3_endpoint, HORDE_S3_REGION="us-east-1",
        HORDE_S3_ACCESS_KEY="k", HORDE_S3_SECRET_KEY="s",
    )
    yield env
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


@pytest.fixture(scope="module")
def two_nodes(shared_env, tmp_path_factory):
    nodes = []
    for name in ("a", "b"):  # each its own data folder, as on two machines
        env = {**shared_env, "HORDE_DATA_DIR": str(tmp_path_factory.mktemp(f"node-{name}"))}
        nodes.append(support.ServerProcess(env, workers=2).start())
    yield nodes
    for node in nodes:
        node.stop()


def _heartbeat(env) -> dict | None:
    raw = redis.Redis.from_url(env["HORDE_REDIS_URL"]).get(env["HORDE_REDIS_PREFIX"] + HEARTBEAT)
    return None if raw is None else __import__("json").loads(raw)


def _parent(pid: int) -> int | None:
    try:
        # /proc/<pid>/stat: "pid (name) state ppid ..."; the name may hold spaces
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _node_of(heartbeat: dict, nodes) -> support.ServerProcess:
    """The node whose scheduler process wrote this heartbeat (its node id names the process)."""
    scheduler_pid = int(heartbeat["node"].split(":")[1])
    owners = [node for node in nodes if _parent(scheduler_pid) == node.proc.pid]
    assert len(owners) == 1, (heartbeat, [n.proc.pid for n in nodes])
    return owners[0]


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds} s")


def test_queued_on_one_node_popped_and_uploaded_on_the_other(two_nodes, shared_env, s3_endpoint):
    a, b = two_nodes
    _, key = support.create_user_cli(shared_env, "scaleout-owner", "--trusted")
    queued = requests.post(f"{a.url}/api/v2/generate/async", json={"prompt": "two nodes"}, headers={"apikey": "0000000000"}, timeout=10)
    assert queued.status_code == 202
    request_id = queued.json()["id"]
    job = requests.post(
        f"{b.url}/api/v2/generate/pop",
        json={"name": "scaleout-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN}, headers={"apikey": key}, timeout=10,
    ).json()
    assert job["id"] is not None
    assert job["r2_upload"].startswith(f"{s3_endpoint}/horde-nodes/")  # the shared bucket, not a node's folder
    image = webp_bytes(color=(3, 3, 3))
    assert requests.put(job["r2_upload"], data=image, timeout=10).status_code == 200
    submitted = requests.post(
        f"{b.url}/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 9}, headers={"apikey": key}, timeout=10
    )
    assert submitted.status_code == 200 and submitted.json()["reward"] > 0
    assert requests.get(f"{a.url}/api/v2/generate/check/{request_id}", timeout=10).json()["done"] is True
    generation = requests.get(f"{a.url}/api/v2/generate/status/{request_id}", timeout=10).json()["generations"][0]
    assert requests.get(generation["img"], timeout=10).content == image


def test_transfers_and_limits_hold_across_nodes(two_nodes, shared_env):
    a, b = two_nodes
    _, rich = support.create_user_cli(shared_env, "scaleout-rich", "--kudos", "123", "--concurrency", "1")
    payee, _ = support.create_user_cli(shared_env, "scaleout-payee")
    sent = requests.post(f"{a.url}/api/v2/kudos/transfer", json={"username": payee, "amount": 23}, headers={"apikey": rich}, timeout=10)
    assert sent.status_code == 200, sent.text
    assert requests.get(f"{b.url}/api/v2/find_user", headers={"apikey": rich}, timeout=10).json()["kudos"] == 100
    # One request at a time for this user: the one queued on A counts on B.
    first = requests.post(f"{a.url}/api/v2/generate/async", json={"prompt": "one"}, headers={"apikey": rich}, timeout=10)
    assert first.status_code == 202, first.text
    second = requests.post(f"{b.url}/api/v2/generate/async", json={"prompt": "two"}, headers={"apikey": rich}, timeout=10)
    assert second.status_code == 429 and second.json()["rc"] == "TooManyPrompts", second.text


def test_upkeep_runs_on_one_node_and_another_takes_over_when_it_dies(two_nodes, shared_env):
    nodes = list(two_nodes)
    first = _wait_for(lambda: _heartbeat(shared_env), 30, "a scheduler leads")
    leader = _node_of(first, nodes)
    survivor = next(node for node in nodes if node is not leader)
    # Both nodes run a scheduler process; only the leader's works.
    for node in nodes:
        assert any("jobs" in Path(f"/proc/{pid}/cmdline").read_text() for pid in _descendants(node.proc.pid)), "no scheduler"
    seen = set()
    deadline = time.monotonic() + 11  # two heartbeats (every 5 s)
    while time.monotonic() < deadline:
        seen.add(_heartbeat(shared_env)["node"])
        time.sleep(0.5)
    assert seen == {first["node"]}
    # The leader's machine dies: every process at once, no goodbye (its Redis lock runs out).
    for pid in [leader.proc.pid, *_descendants(leader.proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    leader.proc.wait(10)
    died = time.monotonic()
    taken = _wait_for(
        lambda: (beat := _heartbeat(shared_env)) and beat["node"] != first["node"] and beat, 30, "another node's upkeep",
    )
    took = time.monotonic() - died
    assert _node_of(taken, nodes) is survivor
    assert took < 15, f"took over after {took:.1f} s"
    # ... and keeps at it.
    later = _wait_for(lambda: (beat := _heartbeat(shared_env)) and beat["at"] > taken["at"] and beat, 15, "upkeep again")
    assert later["node"] == taken["node"]
    assert requests.get(f"{survivor.url}/api/v2/status/heartbeat", timeout=10).status_code == 200
