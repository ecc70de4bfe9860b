"""OpenAI requests waiting for their result while the core loop runs (docs/serving.md,
"OpenAI requests").

`Waiters(url, key, kind, count)` sends `count` OpenAI calls (`/v1/images/generations` on an
image horde, `/v1/chat/completions` on a text horde) from a process of its own (asyncio, raw
sockets) for a model that only a parked worker serves: one that checked in once and never
pops again (`park_worker`), so every call is admitted and then waits, holding a server
thread, until the process closes its sockets, which cancels the requests (the server notices
the hang-up within a second).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import requests

from bench.streams import PARKED_MODEL, ClientProcess

PARKED_TEXT_MODEL = "bench/parked-text-model"
REGEN = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"


def parked_model(kind: str) -> str:
    return PARKED_MODEL if kind == "image" else PARKED_TEXT_MODEL


def park_worker(url: str, owner_key: str, kind: str) -> None:
    """A worker that serves the parked model checks in once (online for five minutes)."""
    if kind == "image":
        path, body = "generate/pop", {"name": "bench-parked", "models": [PARKED_MODEL], "bridge_agent": REGEN}
    else:
        path, body = "generate/text/pop", {"name": "bench-parked", "models": [PARKED_TEXT_MODEL],
                                           "bridge_agent": "KoboldCppEmbedWorker:1:bench", "max_length": 512,
                                           "max_context_length": 4096}
    answer = requests.post(f"{url}/api/v2/{path}", json=body, headers={"apikey": owner_key}, timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"parking a worker: {answer.status_code} {answer.text}")


def _request(kind: str, index: int) -> tuple[str, bytes]:
    if kind == "image":
        return "/v1/images/generations", json.dumps({"prompt": f"waiting {index}", "model": PARKED_MODEL}).encode()
    return "/v1/chat/completions", json.dumps(
        {"model": PARKED_TEXT_MODEL, "messages": [{"role": "user", "content": f"waiting {index}"}]}
    ).encode()


def _waiters_process(url: str, key: str, kind: str, count: int, ready, stop, counts) -> None:
    parts = urlsplit(url)

    async def one(index: int, waiting: list, answered: list) -> None:
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        except OSError:
            return
        path, body = _request(kind, index)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        await writer.drain()
        waiting.append(index)
        try:
            status = await reader.readline()  # only an early answer (an error) comes back
            if status:
                answered.append(status.decode(errors="replace").strip())
        finally:
            writer.close()

    async def main() -> None:
        waiting: list = []
        answered: list = []
        tasks = []
        for index in range(count):
            tasks.append(asyncio.create_task(one(index, waiting, answered)))
            if index % 20 == 19:
                await asyncio.sleep(0.1)  # they arrive over a second or two, as clients do
        await asyncio.sleep(2.0)  # each admitted and waiting
        counts["sent"] = len(waiting)
        counts["answered_early"] = len(answered)
        counts["early_statuses"] = sorted(set(answered))[:5]
        ready.set()
        while not stop.is_set():
            counts["still_waiting"] = sum(1 for task in tasks if not task.done())
            counts["answered_early"] = len(answered)
            await asyncio.sleep(0.5)
        counts["still_waiting"] = sum(1 for task in tasks if not task.done())
        for task in tasks:
            task.cancel()  # closes the sockets: the server cancels the requests

    asyncio.run(main())


class Waiters(ClientProcess):
    what = "waiting OpenAI requests"

    def __init__(self, url: str, key: str, kind: str, count: int):
        super().__init__(_waiters_process, url, key, kind, count, wanted=count)

    def summary(self) -> dict:
        return {"wanted": self.wanted, "sent": self.counts.get("sent", 0),
                "still_waiting": self.counts.get("still_waiting", self.counts.get("sent", 0)),
                "answered_early": self.counts.get("answered_early", 0), "early_statuses": list(self.counts.get("early_statuses", []))}
