"""Slow source-image downloads in flight while the core loop runs (docs/serving.md, "what it costs").

Twenty clients each keep one request open whose `source_image` is a local URL answering one
byte a second (tests/fetch_targets.py); when an answer comes (the fetch deadline, or 503
`SourceImageFetchBusy` when a process's fetch slots are full) the client sends the next one,
after half a second if it was refused as busy. The loop scenario runs meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import requests

from tests.fetch_targets import FetchTargets

BUSY_PAUSE = 0.5


class SlowDownloads:
    def __init__(self, url: str, clients: int):
        self.url = f"{url}/api/v2/generate/async"
        self.clients = clients
        self.targets = FetchTargets(drip_interval=1.0, drip_limit=600)
        self.stop = threading.Event()
        self.answers: Counter = Counter()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        session = requests.Session()
        body = {"prompt": "from a slow URL", "source_image": self.targets.url("/drip")}
        while not self.stop.is_set():
            try:
                answer = session.post(self.url, json=body, headers={"apikey": "0000000000"}, timeout=60)
                outcome = f"{answer.status_code} {answer.json().get('rc')}"
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            with self.lock:
                self.answers[outcome] += 1
            if outcome.startswith("503"):
                self.stop.wait(BUSY_PAUSE)

    def __enter__(self) -> "SlowDownloads":
        self.targets.start()
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 30
        while self.targets.connections < min(self.clients, 8) and time.monotonic() < deadline:
            time.sleep(0.05)  # the server has started downloading
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.targets.stop()
        for thread in self.threads:
            thread.join(70)

    def summary(self) -> dict:
        with self.lock:
            return {"slow_clients": self.clients, "answers": dict(self.answers), "fetches_started": self.targets.connections}
