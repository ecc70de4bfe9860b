"""Shared keys and styles against real server processes: horde-sdk as the client, and a key
deleted (or expired) on one node refused at once by another."""

from __future__ import annotations

import pytest
import requests

from tests import support
from tests.api.text.conftest import MODEL


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    environment = support.migrated_server_env(
        "horde_e2e_keys", tmp_path_factory.mktemp("e2e-keys"), HORDE_REDIS_URL=support.REDIS_URL,
    )
    yield environment
    support.drop_pg_database(environment["HORDE_DATABASE_URL"])


@pytest.fixture(scope="module")
def nodes(env):
    first = support.ServerProcess(env, workers=1).start()
    second = support.ServerProcess(env, workers=1).start()
    yield first, second
    first.stop()
    second.stop()


def test_horde_sdk_drives_shared_keys_styles_and_collections(nodes, env):
    first, _ = nodes
    alias, key = support.create_user_cli(env, "sdk-stylist", "--trusted", "--kudos", "5000")
    result = support.run_sdk(first.url, "sharedkeys_styles.py", api_key=key)
    created = result["created"]
    assert created["kudos"] == 1000 and created["name"] == "sdk key" and created["username"] == alias
    assert created["expiry"] and created["max_image_steps"] == 50
    assert result["changed"] == {"kudos": 800, "name": "sdk key 2"}
    assert result["find_user"] == f"{alias} (Shared Key: sdk key 2)"
    assert result["too_many_steps_rc"] == "BadRequest"
    assert result["style"]["params"] == {"steps": 12, "cfg_scale": 6.0, "width": 768, "height": 512}
    assert result["style"]["shared_key_kudos"] == 500 and result["style"]["sharedkey"]
    assert result["by_name_has_key"] is False  # only the owner's key shows it
    assert result["listed"] == ["sdk noir"]
    assert result["examples"] == [["https://example.com/noir.webp", True]] and result["example_id"]
    assert result["collection"] == {"type": "image", "styles": [result["style"]["id"]], "listed": 1}
    assert result["gone_rc"] == "InvalidAPIKey"


def _generate(node, apikey):
    return requests.post(f"{node.url}/api/v2/generate/async", json={"prompt": "two nodes, one key"},
                         headers={"apikey": apikey}, timeout=10)


def test_a_key_deleted_on_one_node_is_refused_at_once_by_the_other(nodes, env):
    first, second = nodes
    _, key = support.create_user_cli(env, "two-node-lender", "--kudos", "1000")
    shared = requests.put(f"{first.url}/api/v2/sharedkeys", json={"kudos": 100}, headers={"apikey": key}, timeout=10).json()["id"]
    for _ in range(3):  # every worker of the second node has used (and could have cached) the key
        assert _generate(second, shared).status_code == 202
    assert requests.delete(f"{first.url}/api/v2/sharedkeys/{shared}", headers={"apikey": key}, timeout=10).status_code == 200
    refused = _generate(second, shared)
    assert refused.status_code == 401 and refused.json()["rc"] == "InvalidAPIKey"
    assert requests.get(f"{second.url}/api/v2/sharedkeys/{shared}", timeout=10).status_code == 401


def test_a_key_expired_on_one_node_is_refused_at_once_by_the_other(nodes, env):
    first, second = nodes
    _, key = support.create_user_cli(env, "two-node-expiry", "--kudos", "1000")
    shared = requests.put(f"{first.url}/api/v2/sharedkeys", json={}, headers={"apikey": key}, timeout=10).json()["id"]
    assert _generate(second, shared).status_code == 202
    patched = requests.patch(f"{first.url}/api/v2/sharedkeys/{shared}", json={"expiry": 0}, headers={"apikey": key}, timeout=10)
    assert patched.status_code == 200
    refused = _generate(second, shared)
    assert refused.status_code == 403 and refused.json()["rc"] == "SharedKeyExpired"


@pytest.fixture(scope="module")
def text_node(tmp_path_factory):
    environment = support.migrated_server_env(
        "horde_e2e_keys_text", tmp_path_factory.mktemp("e2e-keys-text"), HORDE_REDIS_URL=support.REDIS_URL, HORDE_MODE="text",
    )
    node = support.ServerProcess(environment, workers=1).start()
    yield node, environment
    node.stop()
    support.drop_pg_database(environment["HORDE_DATABASE_URL"])


def test_horde_sdk_drives_text_styles(text_node):
    node, environment = text_node
    alias, key = support.create_user_cli(environment, "sdk-poet", "--trusted", "--kudos", "5000")
    result = support.run_sdk(node.url, "text_styles.py", api_key=key, model=MODEL)
    assert result["style"] == {
        "name": "sdk bard", "prompt": "Write a poem about {p}.", "params": {"temperature": 0.9}, "models": [MODEL], "creator": alias,
    }
    assert result["listed"] == ["sdk bard"]
    assert result["after"] == {"prompt": "A sonnet on {p}.", "use_count": 1}  # the styled request went through the key
