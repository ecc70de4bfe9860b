"""Open event streams while the core loop runs (docs/serving.md, "Event streams").

`Streams(url, ids)` opens one `GET /api/v2/generate/events/{id}` per id from a process of
its own (asyncio, raw sockets: a thousand idle connections cost it little) and keeps them
open, counting the events they receive. The requests watched are parked behind the loop's
(a user without kudos, a model no loop worker serves), so every queue snapshot moves them
and their streams get an event each time: the busy case, not the idle one.

`probe_latency(url, key)` measures how long a change takes to reach a stream: it queues a
request, opens its stream, cancels the request and times the `status` event against the
cancel (from sending it, and from its answer, which comes after the commit).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from urllib.parse import urlsplit

import requests

PARKED_MODEL = "Deliberate"


def _stream_process(url: str, ids: list[str], ready, stop, counts) -> None:
    parts = urlsplit(url)

    async def one(request_id: str, opened: list, events: list) -> None:
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        except OSError:
            return
        writer.write(
            f"GET /api/v2/generate/events/{request_id} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            writer.close()
            return
        opened.append(request_id)
        try:
            while not stop.is_set():
                chunk = await reader.read(65536)
                if not chunk:
                    break
                events[0] += chunk.count(b"\nevent: ")
        finally:
            writer.close()

    async def main() -> None:
        opened: list = []
        events = [0]
        tasks = []
        for index, request_id in enumerate(ids):
            tasks.append(asyncio.create_task(one(request_id, opened, events)))
            if index % 50 == 49:
                await asyncio.sleep(0.05)  # open them over a second or two, as clients arrive
        while len(opened) < len(ids) and not stop.is_set():
            await asyncio.sleep(0.1)
            if all(task.done() for task in tasks):
                break
        counts["opened"] = len(opened)
        ready.set()
        while not stop.is_set():
            counts["events"] = events[0]
            counts["open"] = sum(1 for task in tasks if not task.done())
            await asyncio.sleep(0.5)
        counts["events"] = events[0]
        for task in tasks:
            task.cancel()

    asyncio.run(main())


class ClientProcess:
    """A process of its own holding many client connections (`target(*args, ready, stop,
    counts)`): entered once they are open (`ready`), told to close them on exit (`stop`)."""

    what = "client connections"

    def __init__(self, target, *args, wanted: int):
        manager = multiprocessing.Manager()
        self.counts = manager.dict()
        self.ready = multiprocessing.Event()
        self.stop = multiprocessing.Event()
        self.process = multiprocessing.Process(target=target, args=(*args, self.ready, self.stop, self.counts))
        self.wanted = wanted
        self._manager = manager

    def __enter__(self):
        self.process.start()
        if not self.ready.wait(120):
            raise RuntimeError(f"the {self.what} did not open in two minutes")
        self.opened_at = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.summary_at_close = self.summary()
        self.stop.set()
        self.process.join(30)
        self._manager.shutdown()

    def pid(self) -> int:
        return self.process.pid

    def summary(self) -> dict:
        raise NotImplementedError


class Streams(ClientProcess):
    what = "streams"

    def __init__(self, url: str, ids: list[str]):
        super().__init__(_stream_process, url, ids, wanted=len(ids))

    def summary(self) -> dict:
        return {"wanted": self.wanted, "opened": self.counts.get("opened", 0), "still_open": self.counts.get("open", 0),
                "events_received": self.counts.get("events", 0)}


def park(url: str, key: str, count: int) -> list[str]:
    """Queue `count` requests that no loop worker serves."""
    session = requests.Session()
    ids = []
    for index in range(count):
        answer = session.post(
            f"{url}/api/v2/generate/async", json={"prompt": f"parked {index}", "models": [PARKED_MODEL]},
            headers={"apikey": key}, timeout=30,
        )
        if answer.status_code != 202:
            raise RuntimeError(f"parking a request with {key!r}: {answer.status_code} {answer.text}")
        ids.append(answer.json()["id"])
    return ids


def _read_until(sock: socket.socket, marker: bytes, deadline: float) -> bytes:
    data = b""
    while marker not in data:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("stream closed")
        data += chunk
    return data


def probe_latency(url: str, key: str, samples: int, pause: float = 0.3) -> dict:
    """Milliseconds from a change (a cancel) to its event on an open stream."""
    parts = urlsplit(url)
    session = requests.Session()
    from_send, from_answer = [], []
    for _ in range(samples):
        request_id = session.post(
            f"{url}/api/v2/generate/async", json={"prompt": "probe", "models": [PARKED_MODEL]}, headers={"apikey": key}, timeout=30,
        ).json()["id"]
        sock = socket.create_connection((parts.hostname, parts.port))
        try:
            sock.sendall(f"GET /api/v2/generate/events/{request_id} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
            _read_until(sock, b"event: check", time.monotonic() + 30)
            sent = time.perf_counter()
            answered = [0.0]

            def cancel() -> None:
                session.delete(f"{url}/api/v2/generate/status/{request_id}", timeout=30)
                answered[0] = time.perf_counter()

            import threading

            canceller = threading.Thread(target=cancel)
            canceller.start()
            _read_until(sock, b"event: status", time.monotonic() + 30)
            arrived = time.perf_counter()
            canceller.join()
            from_send.append((arrived - sent) * 1000)
            from_answer.append((arrived - answered[0]) * 1000)
        finally:
            sock.close()
        time.sleep(pause)

    def spread(values: list[float]) -> dict:
        values = sorted(values)
        return {"p50": round(values[len(values) // 2], 1), "p90": round(values[int(len(values) * 0.9)], 1),
                "max": round(values[-1], 1), "n": len(values)}

    return {"from_cancel_sent_ms": spread(from_send), "from_cancel_answered_ms": spread(from_answer)}
