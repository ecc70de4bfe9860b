"""The core slot of a web process: one request works at a time, any number wait."""

from __future__ import annotations

import threading

import pytest

from horde import serving


@pytest.fixture(autouse=True)
def one_slot():
    serving.configure(1)
    yield
    serving.configure(1)


def _app(inside: threading.Event, release: threading.Event, wait: bool):
    def app(environ, start_response):
        inside.set()
        if wait:
            with serving.waiting():
                release.wait(10)
        else:
            release.wait(10)
        start_response("200 OK", [])
        return [b"done"]

    return serving.CoreSlotMiddleware(app)


def _call(app, results: list):
    results.append(b"".join(app({}, lambda *a: None)))


def _start(app, results):
    thread = threading.Thread(target=_call, args=(app, results), daemon=True)
    thread.start()
    return thread


def test_a_working_request_keeps_the_next_one_out_until_it_returns():
    first_in, first_go, second_in, second_go = (threading.Event() for _ in range(4))
    results: list = []
    first = _start(_app(first_in, first_go, wait=False), results)
    assert first_in.wait(5)
    second = _start(_app(second_in, second_go, wait=False), results)
    assert not second_in.wait(0.3), "two requests ran application code at once in one process"
    first_go.set()
    assert second_in.wait(5)
    second_go.set()
    first.join(5), second.join(5)
    assert results == [b"done", b"done"]


def test_a_waiting_request_lets_others_work_and_gets_its_slot_back():
    waiter_in, waiter_go, worker_in, worker_go = (threading.Event() for _ in range(4))
    results: list = []
    waiter = _start(_app(waiter_in, waiter_go, wait=True), results)
    assert waiter_in.wait(5)
    worker_go.set()
    worker = _start(_app(worker_in, worker_go, wait=False), results)
    worker.join(5)
    assert results == [b"done"], "a request waiting in serving.waiting() held the process"
    waiter_go.set()
    waiter.join(5)
    assert results == [b"done", b"done"]
    assert not serving.holds_slot()
    # The slot came back: a new request gets it at once.
    again_in, again_go = threading.Event(), threading.Event()
    again_go.set()
    _start(_app(again_in, again_go, wait=False), results).join(5)
    assert again_in.is_set() and len(results) == 3


def test_waiting_and_working_outside_a_request_do_not_deadlock():
    with serving.waiting():
        pass
    with serving.working():
        assert serving.holds_slot()
        with serving.working():  # nested: already held
            assert serving.holds_slot()
    assert not serving.holds_slot()
