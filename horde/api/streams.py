"""Server-Sent Events: a request's progress pushed to its client (and the dashboard's figures).

A stream follows docs/serving.md: the route checks its arguments and reads the first state
holding the core slot, like any request; the body (a generator) then runs without the slot
and without a database connection, waiting on the events hub (horde/events.py). It takes
the slot (`serving.working()`) only to read what changed, once per change: a keep-alive
tick costs no query at all.

Events of a request stream:
  `check`   the check route's body, each time it changes (any field but the wait estimate
            alone, which every queue snapshot moves); its `id` is a digest of those fields,
            the same on every node, so a client resuming with `Last-Event-ID` gets the
            current state only if it differs from what it saw;
  `status`  the status route's body once the request is done (id `status`); the stream ends.
            A client resuming after it (EventSource reconnects by itself) gets 204, which
            tells EventSource to stop;
  `error`   `{message, rc}` when the request disappears (it expired); the stream ends.
Comments (`: keep-alive`) are sent every `stream_keepalive` seconds, and a stream ends after
`stream_max_seconds` (EventSource then reconnects with its `Last-Event-ID`).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable, Iterator

from flask import Response, current_app, request

from horde import serving
from horde.db import utcnow
from horde.domain import errors
from horde.domain.queue import generation
from horde.events import Listener, topics_of
from horde.services import Services

FINAL_ID = "status"
RETRY_MS = 2000


def format_event(event: str, data: Any, ident: str | None = None) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def event_id(body: dict) -> str:
    """A digest of what the event says, except the wait estimate (which moves with every
    queue snapshot): a new id, and so a new event, when the request itself moved."""
    state = {key: value for key, value in body.items() if key != "wait_time"}
    return hashlib.sha1(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def last_event_id() -> str:
    return request.headers.get("Last-Event-ID", "") or request.args.get("last_event_id", "")


def stream_response(body: Iterator[str]) -> Response:
    response = Response((chunk.encode() for chunk in body), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["X-Accel-Buffering"] = "no"  # proxies must not hold events back
    return response


def with_session(svc: Services, read: Callable):
    """Run `read(session)` in a short session of its own (returned to the pool at once)."""
    session = svc.db.session_factory()
    try:
        return read(session)
    finally:
        session.close()


def _ticks(listener: Listener, settings) -> Iterator[list | None]:
    """Messages as they come (a list, possibly empty after a lost connection), or None at
    each keep-alive tick; ends at the stream's time limit or when the process stops."""
    ends = time.monotonic() + settings.stream_max_seconds
    while not serving.stopping.is_set():
        left = ends - time.monotonic()
        if left <= 0:
            return
        messages = listener.wait(min(settings.stream_keepalive, left))
        if listener.missed():
            yield messages or []
        elif messages:
            yield messages
        else:
            yield None


def request_events(
    svc: Services, listener: Listener, first: dict, resume_from: str, *,
    check: Callable[[Any], dict], final: Callable[[Any], dict], reposition: Callable[[dict], dict],
) -> Iterator[str]:
    """The body of a request's stream (see the module docstring). `first` is the check body
    read by the route; `check(session)` and `final(session)` read the current check and
    status bodies; `reposition(body)` updates the queue position from the snapshot."""
    settings = svc.settings
    try:
        yield f"retry: {RETRY_MS}\n\n"
        current, sent = first, resume_from
        ticks = _ticks(listener, settings)
        while True:
            if current["done"]:
                with serving.working():
                    body = with_session(svc, final)
                yield format_event("status", body, FINAL_ID)
                return
            ident = event_id(current)
            if ident != sent:
                yield format_event("check", current, ident)
                sent = ident
            messages = next(ticks, False)
            if messages is False:
                return
            if messages is None:
                yield ": keep-alive\n\n"
                continue
            topics = topics_of(messages)
            if topics and all(topic.startswith("positions:") for topic in topics):
                current = reposition(current)  # the queue moved: the snapshot has our place
                continue
            with serving.working():
                current = with_session(svc, check)
    except errors.RequestNotFound as error:
        yield format_event("error", {"message": error.message, "rc": error.rc})
    finally:
        listener.close()


def feed_events(svc: Services, listener: Listener, read: Callable[[], tuple[str, str]]) -> Iterator[str]:
    """A stream of one value re-read on each message (the dashboard's figures, a user's
    requests in flight). `read()` returns the value's event id and its formatted event (it
    takes the core slot itself if it reads the database); an event goes out when the id
    changes."""
    try:
        yield f"retry: {RETRY_MS}\n\n"
        sent, chunk = read()
        yield chunk
        for messages in _ticks(listener, svc.settings):
            if messages is None:
                yield ": keep-alive\n\n"
                continue
            ident, chunk = read()
            if ident != sent:
                yield chunk
                sent = ident
    finally:
        listener.close()


def formatted(event: str, value: Any) -> tuple[str, str]:
    """(id, formatted event) of a value, for `feed_events`."""
    ident = event_id({"v": value})
    return ident, format_event(event, value, ident)


def open_request_stream(svc: Services, request_id: str, kind: str, final: Callable[[Any], dict]) -> Response:
    """An image or text request's stream: its check body, moved by the queue's positions."""

    def check(session) -> dict:
        return generation.check(session, svc, request_id, kind, utcnow())

    return open_stream(
        svc, (f"req:{request_id}", f"positions:{kind}"), check, final,
        reposition=lambda fields: generation.reposition(svc, fields, request_id, kind),
    )


def open_stream(
    svc: Services, topics: tuple[str, ...], check: Callable[[Any], dict], final: Callable[[Any], dict],
    reposition: Callable[[dict], dict] = lambda fields: fields,
) -> Response:
    """The route's part: listen first (no change can slip between the read and the wait),
    read the current state (a 404 for an unknown id, as the check route), then stream."""
    resume = last_event_id()
    listener = svc.events.listen(*topics)
    try:
        first = with_session(svc, check)
    except Exception:
        listener.close()
        raise
    if first["done"] and resume == FINAL_ID:
        listener.close()
        return Response(status=204)  # the client saw the end: EventSource stops reconnecting
    app, base_url = current_app._get_current_object(), f"{request.scheme}://{request.host}/"

    def final_as_asked(session) -> dict:
        # The body runs after the request's context is gone; links in the status body (image
        # URLs) name the address the client used, as the status route's do.
        with app.test_request_context("/", base_url=base_url):
            return final(session)

    body = request_events(svc, listener, first, resume, check=check, final=final_as_asked, reposition=reposition)
    return stream_response(body)
