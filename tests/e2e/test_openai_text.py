"""The OpenAI-compatible text API (issue 19) with the official `openai` client, against one
real gunicorn server in text mode and a simulated worker."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
import requests

from tests import support
from tests.simulated_workers import KOBOLD_BRIDGE, SimulatedWorker

MODEL = "koboldcpp/Meta-Llama-3-8B-Instruct"
PARKED = "koboldcpp/parked-model"  # served by a worker that checked in once and never pops again
ANSWER = "A simulated answer."  # what the simulated text worker writes
WAIT_SECONDS = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = support.migrated_server_env(
        "horde_openai_text", tmp_path_factory.mktemp("openai-text"), HORDE_MODE="text",
        HORDE_REDIS_URL=support.REDIS_URL, HORDE_STREAM_KEEPALIVE="1", HORDE_OPENAI_WAIT_SECONDS=str(WAIT_SECONDS),
    )
    owner_key = support.create_user_cli(env, "openai-worker-owner", "--trusted")[1]
    requester_key = support.create_user_cli(env, "openai-requester", "--kudos", "10000")[1]
    limited_key = support.create_user_cli(env, "openai-limited", "--concurrency", "2")[1]
    proc = support.ServerProcess(env, workers=2).start()
    parked = requests.post(f"{proc.url}/api/v2/generate/text/pop", json={
        "name": "parked-worker", "models": [PARKED], "bridge_agent": KOBOLD_BRIDGE, "max_length": 512, "max_context_length": 4096,
    }, headers={"apikey": owner_key}, timeout=10)
    assert parked.status_code == 200, parked.text
    worker = SimulatedWorker(proc.url, owner_key, "text", "openai-text-worker", [MODEL], seconds_per_item=0.2, idle_seconds=0.2)
    worker.start()
    _wait_for_worker(proc.url, "openai-text-worker", "text")
    yield {"url": proc.url, "owner": owner_key, "requester": requester_key, "limited": limited_key, "worker": worker}
    worker.stop()
    proc.stop()
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


def _wait_for_worker(url: str, name: str, kind: str) -> None:
    """Until the worker checked in (read from the workers list, which no process caches: a
    /v1 call before that would keep a worker list without it for a few seconds)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = requests.get(f"{url}/api/v2/workers", params={"type": kind}, timeout=10).json()
        if any(worker["name"] == name for worker in listed):
            return
        time.sleep(0.2)
    raise AssertionError(f"worker {name} did not check in")


def client(server, key: str = "0000000000", **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server['url']}/v1", api_key=key, max_retries=0, timeout=options.pop("timeout", 60), **options)


def _kudos(server, key: str) -> float:
    return requests.get(f"{server['url']}/api/v2/find_user", headers={"apikey": key}, timeout=10).json()["kudos"]


def _status(server, request_id: str) -> dict:
    return requests.get(f"{server['url']}/api/v2/generate/text/status/{request_id}", timeout=10).json()


def _parked_worker_finds_nothing(server) -> bool:
    answer = requests.post(f"{server['url']}/api/v2/generate/text/pop", json={
        "name": "parked-worker", "models": [PARKED], "bridge_agent": KOBOLD_BRIDGE, "max_length": 512, "max_context_length": 4096,
    }, headers={"apikey": server["owner"]}, timeout=10).json()
    return answer["id"] is None


def test_model_list_names_the_models_workers_serve(server):
    models = client(server).models.list()
    names = [model.id for model in models.data]
    assert MODEL in names and PARKED in names
    assert client(server).models.retrieve(MODEL).id == MODEL


def test_chat_completion(server):
    answer = client(server).chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
        max_tokens=64, temperature=0.7,
    )
    assert answer.object == "chat.completion" and answer.model == MODEL
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == ANSWER
    assert answer.choices[0].finish_reason == "stop"
    usage = answer.usage
    assert usage.completion_tokens > 0 and usage.prompt_tokens > usage.completion_tokens
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    request_id = answer.id.removeprefix("chatcmpl-")
    status = _status(server, request_id)
    assert status["done"] and status["generations"][0]["text"] == ANSWER


def test_completion_with_n_and_stop(server):
    answer = client(server).completions.create(model=MODEL, prompt="Once upon a time", max_tokens=32, n=2, stop=["\n\n"])
    assert answer.object == "text_completion"
    assert [choice.text for choice in answer.choices] == [ANSWER, ANSWER]
    assert [choice.index for choice in answer.choices] == [0, 1]


def test_streamed_chat_reassembles_to_the_worker_text(server):
    stream = client(server).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Stream this"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices]
    assert "".join(pieces) == ANSWER
    assert sum(1 for piece in pieces if piece) > 1, "the text comes in several chunks"
    finals = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert finals == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)


def test_streamed_completion_and_the_raw_format(server):
    stream = client(server).completions.create(model=MODEL, prompt="Tell me", stream=True)
    assert "".join(chunk.choices[0].text for chunk in stream) == ANSWER
    # The wire: data lines, keep-alive comments allowed, and the closing [DONE].
    raw = requests.post(f"{server['url']}/v1/completions", json={"model": MODEL, "prompt": "Raw", "stream": True}, timeout=30)
    assert raw.headers["Content-Type"].startswith("text/event-stream")
    lines = [line for line in raw.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith(("data: ", ": keep-alive")) for line in lines)


def test_keep_alive_comments_while_queued_then_a_cancelled_stream_cancels_the_request(server):
    raw = requests.post(
        f"{server['url']}/v1/chat/completions", stream=True, timeout=30,
        json={"model": PARKED, "messages": [{"role": "user", "content": "wait"}], "stream": True},
    )
    assert raw.status_code == 200
    lines = raw.iter_lines()
    first = next(line for line in lines if line)
    request_id = first.decode().split('"id":"chatcmpl-', 1)[1].split('"', 1)[0]
    assert next(line for line in lines if line) == b": keep-alive"  # HORDE_STREAM_KEEPALIVE=1
    assert _status(server, request_id)["done"] is False
    raw.close()  # the client goes away
    deadline = time.monotonic() + 10
    while not _status(server, request_id)["done"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _status(server, request_id)["done"] is True, "closing the stream cancels the horde request"
    assert _parked_worker_finds_nothing(server)


def test_a_request_that_waits_too_long_times_out_and_is_cancelled(server):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as raised:
        client(server).chat.completions.create(model=PARKED, messages=[{"role": "user", "content": "never"}])
    assert raised.value.status_code == 408
    assert raised.value.body["type"] == "timeout_error" and raised.value.body["code"] == "GenerationTimedOut"
    assert WAIT_SECONDS - 1 <= time.monotonic() - started < WAIT_SECONDS + 10
    assert _parked_worker_finds_nothing(server), "the timed-out request was cancelled"


def test_a_stream_that_waits_too_long_ends_with_an_error_event(server):
    stream = client(server).chat.completions.create(model=PARKED, messages=[{"role": "user", "content": "never"}], stream=True)
    chunks = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            chunks.append(chunk)
    assert "did not finish within" in raised.value.message
    assert [chunk.choices[0].delta.role for chunk in chunks] == ["assistant"]  # the role chunk, then the error
    assert _status(server, chunks[0].id.removeprefix("chatcmpl-"))["done"] is True
    assert _parked_worker_finds_nothing(server)


def test_a_client_that_hangs_up_cancels_its_request(server):
    with pytest.raises(openai.APITimeoutError):
        client(server, timeout=2).completions.create(model=PARKED, prompt="I will not wait")
    time.sleep(3)  # the server notices within a second or so
    assert _parked_worker_finds_nothing(server)


def test_waiting_requests_hold_no_worker_process(server):
    """Two gunicorn processes with one core slot each: twenty waiting calls would stop both if a
    wait held its process; the native API and a served call go on meanwhile."""
    url = f"{server['url']}/v1/completions"

    def wait(index: int) -> int:
        return requests.post(url, json={"model": PARKED, "prompt": f"waiting {index}"},
                             headers={"Authorization": f"Bearer {server['requester']}"}, timeout=60).status_code

    with ThreadPoolExecutor(20) as pool:
        waits = [pool.submit(wait, index) for index in range(20)]
        time.sleep(2)
        assert not any(future.done() for future in waits), "the calls wait for their results"
        started = time.monotonic()
        assert requests.get(f"{server['url']}/api/v2/status/heartbeat", timeout=10).status_code == 200
        assert client(server).completions.create(model=MODEL, prompt="meanwhile").choices[0].text == ANSWER
        assert time.monotonic() - started < 5
        statuses = [future.result() for future in waits]
    assert statuses == [408] * 20  # each timed out (HORDE_OPENAI_WAIT_SECONDS) and was cancelled
    assert _parked_worker_finds_nothing(server)


def test_a_request_its_workers_fail_is_502(server):
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(lambda: requests.post(
            f"{server['url']}/v1/chat/completions", json={"model": PARKED, "messages": [{"role": "user", "content": "fail me"}]},
            timeout=60,
        ))
        faults = 0
        deadline = time.monotonic() + 6
        while faults < 3 and time.monotonic() < deadline:  # the horde marks a request faulted after 3 faults
            job = requests.post(f"{server['url']}/api/v2/generate/text/pop", json={
                "name": "parked-worker", "models": [PARKED], "bridge_agent": KOBOLD_BRIDGE, "max_length": 512,
                "max_context_length": 4096,
            }, headers={"apikey": server["owner"]}, timeout=10).json()
            if job["id"]:
                submitted = requests.post(f"{server['url']}/api/v2/generate/text/submit", headers={"apikey": server["owner"]},
                                          json={"id": job["id"], "generation": "", "state": "faulted"}, timeout=10)
                assert submitted.status_code == 200, submitted.text
                faults += 1
            else:
                time.sleep(0.2)
        answer = call.result()
    assert faults == 3
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "GenerationFailed"


def test_a_bad_key_is_401(server):
    with pytest.raises(openai.AuthenticationError) as raised:
        client(server, key="not-a-key").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 401 and raised.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client(server, key="not-a-key").models.list()
    basic = requests.post(f"{server['url']}/v1/completions", json={"model": MODEL, "prompt": "x"},
                          headers={"Authorization": "Basic dXNlcjpwYXNz"}, timeout=10)
    assert basic.status_code == 401 and basic.json()["error"]["type"] == "authentication_error"


def test_an_unknown_model_is_404(server):
    with pytest.raises(openai.NotFoundError) as raised:
        client(server).chat.completions.create(model="nobody/serves-this", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.code == "model_not_found"
    assert set(raised.value.body) == {"message", "type", "param", "code"}
    with pytest.raises(openai.NotFoundError):
        client(server).models.retrieve("nobody/serves-this")


def test_no_worker_for_a_known_model_or_for_the_request_is_503(server):
    with pytest.raises(openai.InternalServerError) as raised:  # the client's class for 5xx
        client(server).chat.completions.create(model="koboldcpp/Fimbulvetr-11B-v2", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 503 and raised.value.code == "NoAvailableWorker"
    # A served model, but longer than its worker writes (max_length 512): refused at once, and cancelled.
    with pytest.raises(openai.InternalServerError) as raised:
        client(server, server["requester"]).completions.create(model=MODEL, prompt="long", max_tokens=1000)
    assert raised.value.status_code == 503
    assert server["worker"].errors == []


def test_the_native_concurrency_limit_is_429(server):
    limited = client(server, server["limited"])
    with ThreadPoolExecutor(1) as pool:
        parked = pool.submit(lambda: requests.post(
            f"{server['url']}/v1/completions", json={"model": PARKED, "prompt": "hold", "n": 2},
            headers={"Authorization": f"Bearer {server['limited']}"}, timeout=60,
        ).status_code)
        time.sleep(1.5)
        with pytest.raises(openai.RateLimitError) as raised:
            limited.completions.create(model=MODEL, prompt="one more")
        assert raised.value.code == "TooManyPrompts" and raised.value.body["type"] == "rate_limit_error"
        assert parked.result() == 408


def test_bad_bodies_are_400_in_openai_shape(server):
    url = f"{server['url']}/v1/chat/completions"
    cases = [
        {"model": MODEL, "messages": []},
        {"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]},
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 9},
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "chat_template": "nope"},
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 100000},  # native limit 4096
        {"messages": [{"role": "user", "content": "x"}]},
    ]
    for body in cases:
        answer = requests.post(url, json=body, timeout=10)
        assert answer.status_code == 400, (body, answer.text)
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error" and error["message"], body
    broken = requests.post(url, data="{", headers={"Content-Type": "application/json"}, timeout=10)
    assert broken.status_code == 400 and "error" in broken.json()


def test_image_route_on_a_text_horde_and_unknown_routes_are_404(server):
    answer = requests.post(f"{server['url']}/v1/images/generations", json={"prompt": "a cat"}, timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "ModeNotServed"
    assert requests.get(f"{server['url']}/v1/nothing", timeout=10).json()["error"]["code"] == "NotFound"


def test_browser_clients_may_send_their_key_as_authorization(server):
    preflight = requests.options(f"{server['url']}/v1/chat/completions", headers={
        "Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }, timeout=10)
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"].split(", ")
    native = requests.options(f"{server['url']}/api/v2/status/heartbeat", timeout=10)
    assert "Authorization" not in native.headers["Access-Control-Allow-Headers"].split(", ")  # the public horde's list, unchanged


def test_openapi_document_lists_the_routes(server):
    from openapi_spec_validator import validate

    document = requests.get(f"{server['url']}/v1/openapi.json", timeout=10).json()
    assert {"/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/images/generations"} <= set(document["paths"])
    validate(document)  # a valid OpenAPI 3.1 document (tools generate clients from it)


def test_kudos_charged_as_for_the_same_native_request(server):
    key = server["requester"]
    before = _kudos(server, key)
    answer = client(server, key).completions.create(model=MODEL, prompt="Price me", max_tokens=64, temperature=0.5)
    assert answer.choices[0].text == ANSWER
    after_openai = _kudos(server, key)
    queued = requests.post(f"{server['url']}/api/v2/generate/text/async", headers={"apikey": key}, json={
        "prompt": "Price me", "models": [MODEL], "params": {"max_length": 64, "temperature": 0.5, "n": 1},
    }, timeout=10)
    assert queued.status_code == 202, queued.text
    deadline = time.monotonic() + 30
    while not _status(server, queued.json()["id"])["done"] and time.monotonic() < deadline:
        time.sleep(0.2)
    after_native = _kudos(server, key)
    assert before - after_openai > 0
    assert before - after_openai == pytest.approx(after_openai - after_native)
