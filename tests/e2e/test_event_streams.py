"""Event streams (issue 20) against real gunicorn servers: two nodes on one PostgreSQL and Redis;
the stream is opened on node B while the request moves through node A."""

from __future__ import annotations

import pytest
import requests

from tests import support
from tests.imaging import REGEN, webp_bytes
from tests.sse import StreamReader

ANON = {"apikey": "0000000000"}


@pytest.fixture(scope="module")
def nodes(e2e_env):
    env = {**e2e_env, "HORDE_STREAM_KEEPALIVE": "1"}
    first = support.ServerProcess(env, workers=2).start()
    second = support.ServerProcess(env, workers=2).start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture(scope="module")
def worker_key(e2e_env):
    return support.create_user_cli(e2e_env, "stream-worker-owner", "--trusted")[1]


def _pop(node, key: str) -> dict:
    return requests.post(
        f"{node.url}/api/v2/generate/pop",
        json={"name": "stream-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN, "amount": 1},
        headers={"apikey": key}, timeout=10,
    ).json()


def _submit(node, key: str, job: dict, seed: int) -> None:
    assert requests.put(job["r2_upload"], data=webp_bytes(color=(seed, 1, 1)), timeout=10).status_code == 200
    answer = requests.post(
        f"{node.url}/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": seed},
        headers={"apikey": key}, timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _queue(node, n: int = 1) -> str:
    answer = requests.post(f"{node.url}/api/v2/generate/async", json={"prompt": "streamed", "params": {"n": n}}, headers=ANON, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def _unsigned(status: dict) -> dict:
    """A status body with its image URLs' signatures (made afresh on each read) left out."""
    return {**status, "generations": [{**g, "img": g["img"].split("?", 1)[0]} for g in status["generations"]]}


def _check_event(stream: StreamReader):
    event = stream.next()
    assert event is not None and event.event == "check", event
    return event


def test_a_request_followed_from_queued_to_done_across_nodes(nodes, worker_key):
    first, second = nodes
    request_id = _queue(first, n=2)
    stream = StreamReader(f"{second.url}/api/v2/generate/events/{request_id}", headers={"Origin": "https://elsewhere.example"})
    assert stream.status_code == 200
    assert stream.headers["Access-Control-Allow-Origin"] == "*"
    assert stream.headers["Content-Type"].startswith("text/event-stream")

    queued = _check_event(stream).json()
    assert (queued["waiting"], queued["processing"], queued["finished"], queued["done"]) == (2, 0, 0, False)

    job = _pop(first, worker_key)
    processing = _check_event(stream).json()
    assert (processing["waiting"], processing["processing"], processing["finished"]) == (1, 1, 0)

    _submit(first, worker_key, job, 7)
    one_done = _check_event(stream).json()
    assert (one_done["waiting"], one_done["processing"], one_done["finished"]) == (1, 0, 1)

    job = _pop(first, worker_key)
    assert _check_event(stream).json()["processing"] == 1
    _submit(first, worker_key, job, 8)

    final = stream.next()
    assert final.event == "status" and final.id == "status"
    assert _unsigned(final.json()) == _unsigned(requests.get(f"{second.url}/api/v2/generate/status/{request_id}", timeout=10).json())
    assert [g["seed"] for g in final.json()["generations"]] == ["7", "8"]
    assert stream.next() is None, "the stream ends after its status event"


def test_resume_with_last_event_id(nodes, worker_key):
    first, second = nodes
    request_id = _queue(first)
    stream = StreamReader(f"{first.url}/api/v2/generate/events/{request_id}")
    seen = _check_event(stream)
    stream.close()

    # Resuming from the state it saw: nothing is repeated; the next change comes.
    resumed = StreamReader(f"{second.url}/api/v2/generate/events/{request_id}", headers={"Last-Event-ID": seen.id})
    job = _pop(first, worker_key)
    changed = _check_event(resumed)
    assert changed.id != seen.id and changed.json()["processing"] == 1
    resumed.close()

    # Resuming from an older state: the current one at once.
    again = StreamReader(f"{second.url}/api/v2/generate/events/{request_id}", headers={"Last-Event-ID": seen.id})
    assert _check_event(again).id == changed.id
    again.close()

    _submit(first, worker_key, job, 3)
    done = StreamReader(f"{second.url}/api/v2/generate/events/{request_id}", headers={"Last-Event-ID": changed.id})
    assert done.next().event == "status"
    # After the final event EventSource reconnects by itself; 204 tells it to stop.
    assert requests.get(f"{first.url}/api/v2/generate/events/{request_id}", headers={"Last-Event-ID": "status"}, timeout=10).status_code == 204


def test_keep_alive_comments_while_nothing_changes(nodes):
    first, _ = nodes
    request_id = _queue(first)
    stream = StreamReader(f"{first.url}/api/v2/generate/events/{request_id}")
    assert _check_event(stream).json()["waiting"] == 1
    comments = 0
    while comments < 2:  # HORDE_STREAM_KEEPALIVE=1 on these nodes
        item = stream.next(timeout=10, skip_comments=False)
        if item.event == "comment":
            assert item.data == "keep-alive"
            comments += 1
    stream.close()
    requests.delete(f"{first.url}/api/v2/generate/status/{request_id}", timeout=10)


def test_a_cancelled_request_ends_its_stream_with_its_status(nodes):
    first, second = nodes
    request_id = _queue(first)
    stream = StreamReader(f"{second.url}/api/v2/generate/events/{request_id}")
    _check_event(stream)
    cancelled = requests.delete(f"{first.url}/api/v2/generate/status/{request_id}", timeout=10)
    assert cancelled.status_code == 200
    final = stream.next()
    assert final.event == "status" and final.json()["done"] is True


def test_unknown_requests_and_the_other_mode(nodes):
    first, _ = nodes
    missing = requests.get(f"{first.url}/api/v2/generate/events/00000000-0000-0000-0000-000000000000", timeout=10)
    assert missing.status_code == 404 and missing.json()["rc"] == "RequestNotFound"
    assert "Access-Control-Allow-Origin" in missing.headers
    short = requests.get(f"{first.url}/api/v2/generate/events/nope", timeout=10)
    assert short.status_code == 404 and short.json()["rc"] == "RequestNotFound"
    text = requests.get(f"{first.url}/api/v2/generate/text/events/00000000-0000-0000-0000-000000000000", timeout=10)
    assert text.status_code == 404 and "message" in text.json()
    preflight = requests.options(
        f"{first.url}/api/v2/generate/events/x", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == "*"
