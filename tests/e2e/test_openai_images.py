"""The OpenAI-compatible image API (issue 19) with the official `openai` client, against one
real gunicorn server in image mode and a simulated worker that uploads a known WebP."""

from __future__ import annotations

import base64
import time

import openai
import pytest
import requests

from tests import support
from tests.e2e.test_openai_text import _wait_for_worker
from tests.imaging import REGEN, webp_bytes
from tests.simulated_workers import SimulatedWorker

MODEL = "stable_diffusion"
PARKED = "Deliberate"  # served by a worker that checked in once and never pops again


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = support.migrated_server_env(
        "horde_openai_image", tmp_path_factory.mktemp("openai-image"), HORDE_REDIS_URL=support.REDIS_URL,
        HORDE_OPENAI_WAIT_SECONDS="6",
    )
    owner_key = support.create_user_cli(env, "openai-image-owner", "--trusted")[1]
    requester_key = support.create_user_cli(env, "openai-image-requester", "--kudos", "10000")[1]
    proc = support.ServerProcess(env, workers=2).start()
    parked = requests.post(f"{proc.url}/api/v2/generate/pop", json={
        "name": "parked-image-worker", "models": [PARKED], "bridge_agent": REGEN, "max_pixels": 1024 * 1024,
    }, headers={"apikey": owner_key}, timeout=10)
    assert parked.status_code == 200, parked.text
    worker = SimulatedWorker(proc.url, owner_key, "image", "openai-image-worker", [MODEL], seconds_per_item=0.1, idle_seconds=0.2)
    worker.start()
    _wait_for_worker(proc.url, "openai-image-worker", "image")
    yield {"url": proc.url, "owner": owner_key, "requester": requester_key}
    worker.stop()
    proc.stop()
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


def client(server, key: str = "0000000000", **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server['url']}/v1", api_key=key, max_retries=0, timeout=60, **options)


UPLOADED = webp_bytes(64, 64)  # what the simulated image worker uploads


def test_image_as_base64_is_the_uploaded_image(server):
    answer = client(server).images.generate(prompt="a red square", model=MODEL, size="512x512", response_format="b64_json", n=2)
    assert len(answer.data) == 2
    assert all(base64.b64decode(item.b64_json) == UPLOADED for item in answer.data)


def test_image_as_url_downloads_the_uploaded_image(server):
    answer = client(server, server["requester"]).images.generate(prompt="a red square", size="576x448", quality="hd", style="natural")
    assert len(answer.data) == 1 and answer.data[0].url.startswith("http")
    assert requests.get(answer.data[0].url, timeout=10).content == UPLOADED


def test_native_rules_apply_an_anonymous_hd_image_needs_kudos_up_front(server):
    with pytest.raises(openai.PermissionDeniedError) as raised:
        client(server).images.generate(prompt="big", size="1024x1024", quality="hd")
    assert raised.value.code == "KudosUpfront" and raised.value.body["type"] == "permission_error"


def test_openai_model_names_mean_any_model(server):
    answer = client(server).images.generate(prompt="any", model="dall-e-3", response_format="b64_json")
    assert base64.b64decode(answer.data[0].b64_json) == UPLOADED


def test_model_list_in_image_mode(server):
    assert {MODEL, PARKED} <= {model.id for model in client(server).models.list().data}


def test_errors(server):
    with pytest.raises(openai.AuthenticationError):
        client(server, key="wrong-key").images.generate(prompt="x")
    with pytest.raises(openai.NotFoundError) as raised:
        client(server).images.generate(prompt="x", model="no-such-image-model")
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as raised:
        client(server).images.generate(prompt="x", size="1000x1000")
    assert raised.value.body["param"] == "size"
    with pytest.raises(openai.APIStatusError) as raised:
        client(server).images.generate(prompt="x", model=PARKED)
    assert raised.value.status_code == 408
    chat = requests.post(f"{server['url']}/v1/chat/completions", json={"model": MODEL, "messages": []}, timeout=10)
    assert chat.status_code == 404 and chat.json()["error"]["code"] == "ModeNotServed"


def _kudos(server, key: str) -> float:
    return requests.get(f"{server['url']}/api/v2/find_user", headers={"apikey": key}, timeout=10).json()["kudos"]


def test_kudos_charged_as_for_the_same_native_request(server):
    key = server["requester"]
    before = _kudos(server, key)
    client(server, key).images.generate(prompt="priced", model=MODEL, size="512x512", quality="high", style="vivid")
    after_openai = _kudos(server, key)
    queued = requests.post(f"{server['url']}/api/v2/generate/async", headers={"apikey": key}, json={
        "prompt": "priced", "models": [MODEL], "params": {"width": 512, "height": 512, "steps": 50, "cfg_scale": 9.0, "n": 1},
    }, timeout=10)
    assert queued.status_code == 202, queued.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if requests.get(f"{server['url']}/api/v2/generate/check/{queued.json()['id']}", timeout=10).json()["done"]:
            break
        time.sleep(0.2)
    after_native = _kudos(server, key)
    assert before - after_openai > 0
    assert before - after_openai == pytest.approx(after_openai - after_native)
