"""A small Server-Sent Events client for the tests: reads a stream on a thread of its own and
hands over its events (and comments) in order."""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass

import requests


@dataclass
class Event:
    event: str  # "message" when unnamed; "comment" for a `:` line
    data: str
    id: str | None = None

    def json(self):
        return json.loads(self.data)


class StreamReader:
    def __init__(self, url: str, headers: dict | None = None, timeout: float = 60):
        self.response = requests.get(url, headers=headers or {}, stream=True, timeout=timeout)
        self.status_code = self.response.status_code
        self.headers = self.response.headers
        self.items: queue.Queue = queue.Queue()
        self.ended = threading.Event()
        if self.status_code == 200 and self.response.headers.get("Content-Type", "").startswith("text/event-stream"):
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.ended.set()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for raw in self.response.iter_lines(decode_unicode=True, chunk_size=1):
                line = raw if raw is not None else ""
                if line.startswith(":"):
                    self.items.put(Event("comment", line[1:].strip()))
                elif line == "":
                    if "data" in fields or "event" in fields:
                        self.items.put(Event(fields.get("event", "message"), fields.get("data", ""), fields.get("id")))
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    fields[name] = f"{fields[name]}\n{value}" if name == "data" and name in fields else value
        except (requests.RequestException, AttributeError, ValueError):
            pass
        finally:
            self.ended.set()
            self.items.put(None)

    def next(self, timeout: float = 10, skip_comments: bool = True) -> Event | None:
        """The next event (None once the stream has ended); fails after `timeout` seconds."""
        while True:
            item = self.items.get(timeout=timeout)
            if item is None:
                self.items.put(None)
                return None
            if skip_comments and item.event == "comment":
                continue
            return item

    def close(self) -> None:
        self.response.close()
