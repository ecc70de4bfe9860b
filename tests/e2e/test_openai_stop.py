"""A server that stops while OpenAI calls wait (issue 19): the waits end at once with an error and
their horde requests are cancelled (seen from a second node on the same database)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests import support
from tests.simulated_workers import KOBOLD_BRIDGE

PARKED = "koboldcpp/parked-model"


def test_stopping_ends_the_waits_and_cancels_their_requests(tmp_path):
    env = support.migrated_server_env("horde_openai_stop", tmp_path, HORDE_MODE="text", HORDE_REDIS_URL=support.REDIS_URL,
                                      HORDE_STREAM_KEEPALIVE="1", HORDE_OPENAI_WAIT_SECONDS="120")
    owner = support.create_user_cli(env, "openai-stop-owner", "--trusted")[1]
    stopping = support.ServerProcess(env, workers=1).start()
    other = support.ServerProcess(env, workers=1).start()
    try:
        pop = {"name": "parked-worker", "models": [PARKED], "bridge_agent": KOBOLD_BRIDGE, "max_length": 512, "max_context_length": 4096}
        assert requests.post(f"{other.url}/api/v2/generate/text/pop", json=pop, headers={"apikey": owner}, timeout=10).status_code == 200
        stream = requests.post(f"{stopping.url}/v1/chat/completions", stream=True, timeout=30,
                               json={"model": PARKED, "messages": [{"role": "user", "content": "streamed"}], "stream": True})
        lines = stream.iter_lines()
        first = next(line for line in lines if line).decode()
        streamed_id = first.split('"id":"chatcmpl-', 1)[1].split('"', 1)[0]
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(lambda: requests.post(
                f"{stopping.url}/v1/completions", json={"model": PARKED, "prompt": "waiting"}, timeout=60))
            time.sleep(1.5)
            started = time.monotonic()
            stopping.stop()
            answer = call.result()
        assert time.monotonic() - started < 15, "the wait ended with the process, not at its deadline"
        assert answer.status_code == 502 and "restarting" in answer.json()["error"]["message"]
        rest = "\n".join(line.decode() for line in lines)
        assert '"error"' in rest and "restarting" in rest
        assert requests.get(f"{other.url}/api/v2/generate/text/status/{streamed_id}", timeout=10).json()["done"] is True
        job = requests.post(f"{other.url}/api/v2/generate/text/pop", json=pop, headers={"apikey": owner}, timeout=10).json()
        assert job["id"] is None, "both requests were cancelled"
    finally:
        stopping.stop()
        other.stop()
        support.drop_pg_database(env["HORDE_DATABASE_URL"])
