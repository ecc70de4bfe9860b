"""Waiting for a native request on behalf of an OpenAI client (docs/serving.md, "OpenAI requests").

The wait follows the serving model: no core slot (the caller is inside `serving.waiting()`
or is a response body, which runs without it), no database connection (each read is a
short session of its own), woken by the events hub when the request changes (`req:<id>`),
bounded by `openai_wait_seconds`, ended by the process stopping. Once a second it looks
whether the client hung up (a peek at the socket, no read) so that a client that gives
up cancels its request.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from horde import serving
from horde.api.streams import with_session
from horde.db import utcnow
from horde.domain import errors
from horde.domain.queue import generation
from horde.events import Listener
from horde.services import Services

DISCONNECT_CHECK_SECONDS = 1.0

# What `watch` yields.
TICK = "tick"  # a keep-alive moment for a stream
DONE = "done"  # the request finished (value: its check fields)
TIMEOUT = "timeout"  # the wait ran out
HUNG_UP = "hung_up"  # the client disconnected
STOPPING = "stopping"  # the process is stopping
GONE = "gone"  # the request disappeared (expired)


@dataclass
class Watched:
    kind: str
    fields: dict | None = None


def peer_closed(sock) -> bool:
    """True when the client closed its connection (a zero-byte peek); never reads its data."""
    if sock is None:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except ValueError:  # a TLS socket refuses flags: no detection there, the deadline still ends it
        return False
    except OSError:
        return True


def watch(
    svc: Services, listener: Listener, request_id: str, kind: str, first: dict, *,
    deadline: float, keepalive: float, client_socket,
) -> Iterator[Watched]:
    """Events of the wait, ending with DONE, TIMEOUT, HUNG_UP, STOPPING or GONE. `first` is
    the check read after `listener` subscribed (no change can fall between them)."""
    fields = first
    next_tick = time.monotonic() + keepalive

    def read() -> dict:
        with serving.working():
            return with_session(svc, lambda session: generation.check(session, svc, request_id, kind, utcnow()))

    try:
        while not fields["done"]:
            now = time.monotonic()
            if now >= deadline:
                yield Watched(TIMEOUT)
                return
            if serving.stopping.is_set():
                yield Watched(STOPPING)
                return
            if now >= next_tick:
                next_tick = now + keepalive
                yield Watched(TICK)
                continue
            messages = listener.wait(min(DISCONNECT_CHECK_SECONDS, deadline - now, next_tick - now))
            if peer_closed(client_socket):
                yield Watched(HUNG_UP)
                return
            if messages or listener.missed():
                fields = read()
    except errors.RequestNotFound:
        yield Watched(GONE)
        return
    yield Watched(DONE, fields)


def cancel(svc: Services, request_id: str, kind: str) -> None:
    """Cancel the native request the client no longer waits for (already gone: nothing to do)."""

    def stop(session) -> None:
        generation.cancel(session, svc, request_id, kind, utcnow())
        session.commit()

    try:
        with serving.working():
            with_session(svc, stop)
    except errors.RequestNotFound:
        pass


def outcome_error(outcome: str, seconds: float) -> errors.HordeError:
    """The error a wait that did not end in DONE answers."""
    if outcome == TIMEOUT:
        return errors.GenerationTimedOut(f"The request did not finish within {seconds:g} seconds and was cancelled.")
    if outcome == GONE:
        return errors.GenerationFailed("The request expired before it finished.")
    if outcome == STOPPING:
        return errors.GenerationFailed("The server is restarting and cancelled the request: please send it again.")
    return errors.GenerationFailed("The client disconnected; the request was cancelled.")


def wait_in_request(svc: Services, request_id: str, kind: str, client_socket, read_result: Callable[[], object]):
    """The whole wait of a route that answers once (no stream): subscribe, read, give the
    core slot back while waiting, then `read_result()` holding it again. Cancels the request
    on any end but DONE, and raises the matching error."""
    listener = svc.events.listen(f"req:{request_id}")
    try:
        first = with_session(svc, lambda session: generation.check(session, svc, request_id, kind, utcnow()))
        svc.db.remove()  # the route's own session: no connection held while waiting
        seconds = svc.settings.openai_wait_seconds
        last = Watched(GONE)
        with serving.waiting():
            for last in watch(svc, listener, request_id, kind, first, deadline=time.monotonic() + seconds,
                              keepalive=seconds + 1, client_socket=client_socket):
                if last.kind != TICK:
                    break
    finally:
        listener.close()
    if last.kind != DONE:
        if last.kind != GONE:
            cancel(svc, request_id, kind)
        raise outcome_error(last.kind, seconds)
    if last.fields.get("faulted") or not last.fields.get("finished"):
        raise errors.GenerationFailed("The workers could not generate this request." if last.fields.get("faulted") else None)
    return read_result()
