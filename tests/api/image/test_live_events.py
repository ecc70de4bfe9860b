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


def test_a_waiting_stream_costs_no_query_per_tick(app, loop, monkeypatch):
    """Keep-alive ticks and queue snapshots cost no database statement; a change costs its read."""
    import dataclasses

    from sqlalchemy import event

    from horde.api import streams
    from horde.domain.queue import generation

    services = app.extensions["horde"]
    svc = dataclasses.replace(services, settings=services.settings.with_(stream_keepalive=0.01))
    with svc.events.listen("user:0") as queued:  # published with (after) the request's own message
        request_id = loop.request().get_json()["id"]
        assert queued.wait(10), "the new request was announced"
    listener = svc.events.listen(f"req:{request_id}", "positions:image")
    first = streams.with_session(svc, lambda s: generation.check(s, svc, request_id, "image", generation_now()))
    body = streams.request_events(
        svc, listener, first, "",
        check=lambda s: generation.check(s, svc, request_id, "image", generation_now()),
        final=lambda s: {}, reposition=lambda fields: generation.reposition(svc, fields, request_id, "image"),
    )
    statements = []

    def count(*_args):
        statements.append(1)

    engines = (services.db.engine, services.db.reader)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    read_one = services.db.read_one  # on PostgreSQL it runs on the driver's cursor directly

    def counted_read_one(*args, **kwargs):
        statements.append(1)
        return read_one(*args, **kwargs)

    monkeypatch.setattr(services.db, "read_one", counted_read_one)
    try:
        assert next(body).startswith("retry:")
        assert next(body).startswith("id: ")  # the first check, read before the stream began
        ticks = [next(body) for _ in range(20)]
        assert ticks == [": keep-alive\n\n"] * 20
        assert statements == [], "no statement per keep-alive tick"
        svc.events.publish("positions:image")
        assert next(body) == ": keep-alive\n\n"  # the queue moved, this request's place did not
        # Its place comes from the cached snapshot: no statement, unless the cache itself is the
        # database (no Redis), where it is at most that one cache read.
        cache_in_database = type(services.cache).__name__ == "DatabaseCache"
        assert len(statements) <= (1 if cache_in_database else 0)
        client = app.test_client()
        client.delete(f"/api/v2/generate/status/{request_id}")
        statements.clear()
        assert next(body).startswith("id: status")
        assert statements, "the change is read once it happens"
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
        body.close()


def generation_now():
    from horde.db import utcnow

    return utcnow()
