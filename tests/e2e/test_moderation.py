"""Moderation on real servers: the operator loads filters, a corrupt prompt is refused end
to end (400, suspicion, timeout, the next request refused, allowed after the timeout),
a second server process follows a filter change within the promised time, and timeouts
outlive a Redis restart."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from horde.domain.moderation.live_rules import PROPAGATION_SECONDS
from tests import support

pytestmark = pytest.mark.e2e
ABUSER = "203.0.113.77"
# Client addresses come from X-Forwarded-For through one trusted proxy hop (this test is the proxy).
TRUSTED_PROXY = {"HORDE_TRUSTED_PROXIES": "1"}


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    env = support.migrated_server_env("horde_moderation", tmp_path_factory.mktemp("moderation"), **TRUSTED_PROXY)
    first = support.ServerProcess(env, workers=2).start()
    second = support.ServerProcess(env, workers=2).start()
    yield env, first, second
    first.stop()
    second.stop()
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


def _post(server, path, body, key, ip=ABUSER):
    return requests.post(f"{server.url}/api/v2{path}", json=body, headers={"apikey": key, "X-Forwarded-For": ip}, timeout=10)


def _sql(env, statement: str) -> None:
    engine = create_engine(env["HORDE_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_operator_loads_filters_and_a_corrupt_prompt_is_refused_end_to_end(two_servers, tmp_path):
    env, first, second = two_servers
    listing = tmp_path / "filters.json"
    listing.write_text(json.dumps([
        {"regex": r"\b(?:child|kid)s?\b", "filter_type": 10, "description": "youth", "replacement": "person"},
        {"regex": r"\bnude\b", "filter_type": 20},
    ]))
    loaded = support.horde_cli("filters", "import", str(listing), env=env)
    assert "2 filters loaded" in loaded.stdout
    exported = json.loads(support.horde_cli("filters", "export", env=env).stdout)
    assert [f["regex"] for f in exported] == [r"\b(?:child|kid)s?\b", r"\bnude\b"]
    mod_alias, mod = support.create_user_cli(env, "e2e-mod", "--moderator")
    _, key = support.create_user_cli(env, "e2e-abuser")
    _, neighbour = support.create_user_cli(env, "e2e-neighbour")

    deadline = time.monotonic() + PROPAGATION_SECONDS + 1  # the CLI is another process, like another node
    while True:
        refused = _post(second, "/generate/async", {"prompt": "a kid, nude", "replacement_filter": False}, key)
        if refused.status_code == 400 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert refused.status_code == 400 and refused.json()["rc"] == "CorruptPrompt"
    user_id = requests.get(f"{first.url}/api/v2/find_user", headers={"apikey": key}, timeout=10).json()["id"]
    seen_by_mod = requests.get(f"{first.url}/api/v2/users/{user_id}", headers={"apikey": mod}, timeout=10).json()
    assert seen_by_mod["suspicious"] == 1
    # The next request from that IP, to either node, from anyone: refused with the time left.
    for server in (first, second):
        blocked = _post(server, "/generate/async", {"prompt": "a lighthouse"}, neighbour)
        assert blocked.status_code == 403 and blocked.json()["rc"] == "TimeoutIP", blocked.json()
        assert "seconds" in blocked.json()["message"]
    timeouts = requests.get(f"{first.url}/api/v2/operations/ipaddr", headers={"apikey": mod}, timeout=10).json()
    assert timeouts[0]["ipaddr"] == f"{ABUSER}/32" and 170 <= timeouts[0]["seconds"] <= 180
    # Three minutes later (moved in the database, as time would) it is allowed again.
    _sql(env, "UPDATE ip_timeouts SET expires = now() at time zone 'utc' - interval '1 second'")
    _sql(env, "UPDATE horde_state SET ip_timeouts_version = ip_timeouts_version + 1")
    deadline = time.monotonic() + PROPAGATION_SECONDS + 1
    while True:
        allowed = _post(first, "/generate/async", {"prompt": "a lighthouse"}, neighbour)
        if allowed.status_code == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert allowed.status_code == 202, allowed.json()


def test_a_filter_change_reaches_the_other_node_in_time(two_servers):
    env, first, second = two_servers
    _, mod = support.create_user_cli(env, "e2e-filter-mod", "--moderator")
    probe = {"prompt": "a glorbnax in a field"}
    assert _post(second, "/filters", probe, mod).json()["suspicion"] == "0"
    assert requests.put(f"{first.url}/api/v2/filters", json={"regex": r"\bglorbnax\b", "filter_type": 20},
                        headers={"apikey": mod}, timeout=10).status_code == 200
    changed_at = time.monotonic()
    # Seen by every worker process of the second node: ten answers in a row know the filter.
    in_a_row, seen_after = 0, None
    while in_a_row < 10 and time.monotonic() - changed_at < PROPAGATION_SECONDS:
        if _post(second, "/filters", probe, mod, ip="192.0.2.1").json()["suspicion"] == "1":
            in_a_row += 1
            seen_after = seen_after or time.monotonic() - changed_at
        else:
            in_a_row = 0
    assert in_a_row == 10, f"the second node did not follow within {PROPAGATION_SECONDS} s"
    print(f"filter change seen by the other node after {seen_after:.2f} s")


def test_timeouts_outlive_a_redis_restart(tmp_path_factory):
    port = support.free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    env = support.migrated_server_env(
        "horde_redis_restart", tmp_path_factory.mktemp("redis-restart"),
        HORDE_REDIS_URL=f"redis://127.0.0.1:{port}/0", **TRUSTED_PROXY,
    )
    server = support.ServerProcess(env, workers=1).start()
    try:
        _, mod = support.create_user_cli(env, "restart-mod", "--moderator")
        assert _post(server, "/operations/ipaddr", {"ipaddr": ABUSER, "hours": 1}, mod, ip="192.0.2.2").status_code == 200
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False, capture_output=True)
        redis.wait(10)
        server.stop()
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        server = support.ServerProcess(env, workers=1).start()  # a new process: nothing in memory either
        refused = _post(server, "/generate/async", {"prompt": "a lighthouse"}, mod)
        assert refused.status_code == 403 and refused.json()["rc"] == "TimeoutIP"
    finally:
        server.stop()
        redis.terminate()
        redis.wait(10)
        support.drop_pg_database(env["HORDE_DATABASE_URL"])


@pytest.mark.sdk
def test_horde_sdk_strict_on_the_moderator_routes(two_servers):
    env, first, _ = two_servers
    _, mod = support.create_user_cli(env, "sdk-mod", "--moderator")
    _, owner = support.create_user_cli(env, "sdk-gpu-owner", "--trusted")
    _, victim = support.create_user_cli(env, "sdk-victim")
    popped = requests.post(f"{first.url}/api/v2/generate/pop", json={"name": "sdk-mod-gpu", "models": ["stable_diffusion"]},
                           headers={"apikey": owner, "X-Forwarded-For": "192.0.2.50"}, timeout=10)
    assert popped.status_code == 200
    worker_id = requests.get(f"{first.url}/api/v2/workers/name/sdk-mod-gpu", timeout=10).json()["id"]
    victim_id = requests.get(f"{first.url}/api/v2/find_user", headers={"apikey": victim}, timeout=10).json()["id"]
    result = support.run_sdk(first.url, "moderation_routes.py", api_key=mod, worker_id=worker_id, victim_id=victim_id)
    assert result["filter"] == {
        "made": r"\bzorblat\b", "listed": True, "one_user": result["filter"]["one_user"], "patched": "changed",
        "regexes": result["filter"]["regexes"], "suspicion": 1, "matches": ["zorblat"], "deleted": "OK",
    }
    assert result["filter"]["one_user"].startswith("sdk-mod#") and any(r"(?:\bzorblat\b)" in r for r in result["filter"]["regexes"])
    assert result["ip"] == {"blocked": "OK", "listed": [["198.51.100.0/24", True]], "lifted": "OK", "worker": ["OK", "OK"]}
    assert result["documents"] == {n: {"html": True} for n in ("terms", "privacy", "sponsors")}
    assert result["deleted_user"] == "OK"
    assert requests.get(f"{first.url}/api/v2/users/{victim_id}", timeout=10).json()["deleted"] is True
