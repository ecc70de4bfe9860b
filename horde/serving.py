"""The serving model: each web process works on one request at a time and waits on many.

A web process is a gunicorn threaded worker with many threads, but only `core_slots`
of them (1 on PostgreSQL) may run application code at once: every request takes the
process's *core slot* when the application is called and gives it back when the WSGI
callable returns. Work that only waits (a download from a slow URL, a client waiting for
its result, an event stream between events) runs inside `waiting()`, which gives the slot
back for the length of the wait. So the process keeps answering heartbeat, check and pop
while hundreds of its threads wait, and runnable requests never share one process's GIL
(with one slot, a process behaves as the one-thread worker it replaced: see bench/README.md).

Rules for code that waits (docs/serving.md):
- hold no database connection across a wait (finish the transaction first);
- bound every wait (a deadline), and return promptly when the process stops (`stopping`);
- keep per-wake work small: the thread wakes without the slot; take it back with
  `working()` for anything heavier than formatting an event.

A response body is written to the client after the slot is given back, so a slow client
reading a large image holds a thread, not the process.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterable, Iterator

_slots = threading.BoundedSemaphore(1)
_held = threading.local()
stopping = threading.Event()  # set when the process shuts down: waits end early
_stop_hooks: list[Callable[[], None]] = []


def on_stop(hook: Callable[[], None]) -> None:
    """Run `hook` when the process starts to stop (for waits that cannot watch `stopping`)."""
    _stop_hooks.append(hook)


def stop() -> None:
    """The process is stopping: set `stopping` and run the hooks. Safe in a signal handler
    (the hooks run on a thread of their own, never inside the interrupted code)."""
    if stopping.is_set():
        return
    stopping.set()

    def run_hooks() -> None:
        for hook in list(_stop_hooks):
            hook()

    threading.Thread(target=run_hooks, name="horde-stop-hooks", daemon=True).start()


def configure(core_slots: int) -> None:
    """Set the number of requests a process runs at once (called once, at app creation)."""
    global _slots
    _slots = threading.BoundedSemaphore(max(1, core_slots))


def _take() -> None:
    _slots.acquire()
    _held.value = True


def _give_back() -> None:
    if getattr(_held, "value", False):
        _held.value = False
        _slots.release()


def holds_slot() -> bool:
    return getattr(_held, "value", False)


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """Give the core slot back while the body waits (no-op outside a request)."""
    held = holds_slot()
    if held:
        _give_back()
    try:
        yield
    finally:
        if held:
            _take()


@contextlib.contextmanager
def working() -> Iterator[None]:
    """Take the core slot for a piece of work done outside a request's call (a stream body)."""
    if holds_slot():
        yield
        return
    _take()
    try:
        yield
    finally:
        _give_back()


class CoreSlotMiddleware:
    """WSGI middleware: the application runs holding the process's core slot."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        _take()
        try:
            return self.app(environ, start_response)
        finally:
            _give_back()
