"""Event streams and the events hub through the Flask test client, on PostgreSQL (LISTEN/NOTIFY,
the hub without Redis) and SQLite (in-process): the engine's changes reach a waiting stream."""

from __future__ import annotations

import json
import uuid

import pytest

from horde.api.streams import event_id


def _events(response):
    """The stream's events as (event, id, data) in order, read lazily."""
    pending: dict = {}
    for chunk in response.response:
        for line in chunk.decode().split("\n"):
            if line == "":
                if "event" in pending:
                    yield pending.get("event"), pending.get("id"), json.loads(pending.get("data", "null"))
                pending = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                pending[name] = value


@pytest.fixture
def worker_key(users):
    return users.create("stream-owner", trusted=True)[1]


def test_a_stream_follows_a_request_to_its_status(loop, client, worker_key):
    request_id = loop.request(params={"n": 1}).get_json()["id"]
    response = client.get(f"/api/v2/generate/events/{request_id}", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    events = _events(response)
    name, ident, body = next(events)
    assert name == "check" and body == loop.check(request_id) and ident == event_id(body)
    job = loop.pop(worker_key)
    name, _, body = next(events)
    assert (name, body["processing"], body["waiting"]) == ("check", 1, 0)
    loop.upload(job["r2_upload"])
    loop.submit(worker_key, job["id"])
    name, ident, body = next(events)
    assert (name, ident) == ("status", "status")
    status = loop.status(request_id)
    strip = lambda s: {**s, "generations": [{**g, "img": g["img"].split("?")[0]} for g in s["generations"]]}  # noqa: E731
    assert strip(body) == strip(status)
    assert next(events, None) is None
    response.close()


def test_resuming_after_the_end_is_told_to_stop(loop, client, worker_key):
    request_id = loop.request().get_json()["id"]
    client.delete(f"/api/v2/generate/status/{request_id}")
    assert client.get(f"/api/v2/generate/events/{request_id}", headers={"Last-Event-ID": "status"}).status_code == 204
    response = client.get(f"/api/v2/generate/events/{request_id}", buffered=False)
    name, _, body = next(_events(response))
    assert name == "status" and body["done"] is True
    response.close()


def test_unknown_ids_are_a_json_404(client):
    for path in ("/api/v2/generate/events/0f0f0f0f-0000-0000-0000-000000000000", "/api/v2/generate/events/x"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["rc"] == "RequestNotFound"


def test_the_hub_publishes_only_committed_changes(app, loop, worker_key):
    from horde import events

    services = app.extensions["horde"]
    topic = f"req:test-{uuid.uuid4()}"
    with services.events.listen(topic) as listener:
        with services.db.session_factory() as session:
            events.note(session, topic, "rolled back")
            session.rollback()
            events.note(session, topic, "committed")
            session.commit()
        assert listener.wait(10) == [(topic, "committed")]


def test_the_engine_announces_a_pop(app, loop, worker_key):
    services = app.extensions["horde"]
    request_id = loop.request().get_json()["id"]
    with services.events.listen(f"req:{request_id}", "user:0") as listener:
        loop.pop(worker_key)
        heard: set = set()
        for _ in range(10):
            heard |= {topic for topic, _ in listener.wait(5)}
            if {f"req:{request_id}", "user:0"} <= heard:
                break
        assert {f"req:{request_id}", "user:0"} <= heard
