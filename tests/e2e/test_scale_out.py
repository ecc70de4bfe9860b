"""Two server processes on one PostgreSQL and one Redis: any node can serve any step."""

import pytest
import requests

from tests import support
from tests.imaging import REGEN, webp_bytes


@pytest.fixture(scope="module")
def two_servers(e2e_env):
    first = support.ServerProcess(e2e_env, workers=2).start()
    second = support.ServerProcess(e2e_env, workers=2).start()
    yield first, second
    first.stop()
    second.stop()


def test_a_request_crosses_both_nodes(two_servers, e2e_env):
    first, second = two_servers
    _, key = support.create_user_cli(e2e_env, "scaleout-owner", "--trusted")
    queued = requests.post(f"{first.url}/api/v2/generate/async", json={"prompt": "two nodes"}, headers={"apikey": "0000000000"}, timeout=10)
    assert queued.status_code == 202
    request_id = queued.json()["id"]
    job = requests.post(
        f"{second.url}/api/v2/generate/pop",
        json={"name": "scaleout-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN}, headers={"apikey": key}, timeout=10,
    ).json()
    assert job["id"] is not None
    image = webp_bytes(color=(3, 3, 3))
    assert requests.put(job["r2_upload"], data=image, timeout=10).status_code == 200
    submitted = requests.post(
        f"{first.url}/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 9}, headers={"apikey": key}, timeout=10
    )
    assert submitted.status_code == 200 and submitted.json()["reward"] > 0
    assert requests.get(f"{second.url}/api/v2/generate/check/{request_id}", timeout=10).json()["done"] is True
    generation = requests.get(f"{first.url}/api/v2/generate/status/{request_id}", timeout=10).json()["generations"][0]
    assert requests.get(generation["img"], timeout=10).content == image


def test_kudos_seen_from_both_nodes(two_servers, e2e_env):
    first, second = two_servers
    _, key = support.create_user_cli(e2e_env, "scaleout-rich", "--kudos", "123")
    for server in (first, second):
        assert requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": key}, timeout=10).json()["kudos"] == 123
