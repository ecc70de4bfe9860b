"""The events hub's in-process part: topics, fan-out, the stop signal, lost connections."""

from __future__ import annotations

import threading

from horde import serving
from horde.events import Hub


def test_messages_reach_only_the_listeners_of_their_topic():
    hub = Hub()
    first, second = hub.listen("req:a", "positions:image"), hub.listen("req:b")
    hub.publish("req:a", {"n": 1})
    hub.publish("positions:image")
    assert first.wait(1) == [("req:a", {"n": 1}), ("positions:image", None)]
    assert second.wait(0) == []
    first.close()
    hub.publish("req:a")
    assert first.wait(0) == [] and hub.listening() == 1
    second.close()
    assert hub.listening() == 0


def test_a_waiting_listener_wakes_when_a_message_comes():
    hub = Hub()
    listener = hub.listen("req:x")
    got = []
    waiter = threading.Thread(target=lambda: got.extend(listener.wait(30)))
    waiter.start()
    hub.publish("req:x", 7)
    waiter.join(30)
    assert got == [("req:x", 7)]


def test_a_lost_connection_tells_each_listener_once():
    hub = Hub()
    listener = hub.listen("req:y")
    assert listener.missed() is False
    hub.resets += 1
    assert listener.missed() is True and listener.missed() is False


def test_stopping_the_process_wakes_every_waiting_stream():
    hub = Hub()
    serving.on_stop(hub.wake_all)
    listeners = [hub.listen(f"req:{i}") for i in range(3)]
    results = []
    threads = [threading.Thread(target=lambda item=item: results.append(item.wait(60))) for item in listeners]
    for thread in threads:
        thread.start()
    try:
        serving.stop()
        for thread in threads:
            thread.join(30)
        assert results == [[], [], []] and serving.stopping.is_set()
    finally:
        serving.stopping.clear()
        serving._stop_hooks.remove(hub.wake_all)
