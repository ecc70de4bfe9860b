"""The events hub: what wakes a waiting thread (an event stream) when something it watches changes.

Publishers are the queue engine and the scheduler's jobs; listeners are threads waiting in
`serving.waiting()` style, holding no core slot and no database connection. Messages are
small: a topic (`req:<id>`, `user:<id>`, `positions:<kind>`, `dashboard`, `webhooks`) and
an optional JSON value; listeners re-read what they need when woken.

- Redis configured: one `PUBLISH` per message on one channel; each process runs one
  subscriber thread that fans messages out to its waiting listeners (every node hears
  every change).
- PostgreSQL without Redis: `pg_notify` inside the transaction that made the change
  (delivered at commit, dropped with a rollback), and one `LISTEN` connection per process.
- Otherwise (SQLite: one process): messages go straight to this process's listeners.

Changes are noted on a session (`note`) by the code that makes them and published when
that session commits, so a listener never hears of a change before it can read it.
The subscriber thread starts with the first listener of a process (after gunicorn's fork).
When it loses its connection it counts a reset: listeners see it and re-read once, since
messages may have been missed meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import select
import threading
import time
from collections import deque
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)
NOTES = "horde_events"  # key of a session's pending messages in `session.info`
PG_CHANNEL = "horde_events"


def note(session, topic: str, data: Any = None) -> None:
    """Publish `topic` when `session` commits (nothing if it rolls back)."""
    pending: dict = session.info.setdefault(NOTES, {})
    pending[topic] = data


class Listener:
    """One waiting thread's mailbox for a few topics."""

    def __init__(self, hub: "Hub", topics: tuple[str, ...]):
        self.hub = hub
        self.topics = topics
        self._items: deque = deque()
        self._ready = threading.Event()
        self._resets = hub.resets

    def push(self, topic: str, data: Any) -> None:
        self._items.append((topic, data))
        self._ready.set()

    def wait(self, timeout: float) -> list[tuple[str, Any]]:
        """Messages that arrived, waiting up to `timeout` seconds for the first one."""
        self._ready.wait(timeout)
        self._ready.clear()
        items = []
        while self._items:
            items.append(self._items.popleft())
        return items

    def missed(self) -> bool:
        """True once after the hub lost its connection: messages may have been lost."""
        if self.hub.resets != self._resets:
            self._resets = self.hub.resets
            return True
        return False

    def close(self) -> None:
        self.hub._remove(self)

    def __enter__(self) -> "Listener":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Hub:
    """In-process fan-out; subclasses add the transport between processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, set[Listener]] = {}
        self.resets = 0
        self._pid = 0
        self._thread: threading.Thread | None = None

    # --- listening -----------------------------------------------------------------------
    def listen(self, *topics: str) -> Listener:
        listener = Listener(self, topics)
        with self._lock:
            for topic in topics:
                self._listeners.setdefault(topic, set()).add(listener)
            self._ensure_running()
        return listener

    def wake_all(self) -> None:
        """Wake every waiting listener (the process is stopping)."""
        with self._lock:
            listeners = {item for group in self._listeners.values() for item in group}
        for listener in listeners:
            listener._ready.set()

    def _remove(self, listener: Listener) -> None:
        with self._lock:
            for topic in listener.topics:
                found = self._listeners.get(topic)
                if found is not None:
                    found.discard(listener)
                    if not found:
                        del self._listeners[topic]

    def listening(self) -> int:
        with self._lock:
            return len({id(item) for group in self._listeners.values() for item in group})

    def dispatch(self, topic: str, data: Any) -> None:
        with self._lock:
            listeners = list(self._listeners.get(topic, ()))
        for listener in listeners:
            listener.push(topic, data)

    def _ensure_running(self) -> None:
        """Start the subscriber thread in this process (called with the lock held)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._thread = self._start_subscriber()

    def _start_subscriber(self) -> threading.Thread | None:
        """The thread that feeds `dispatch` from the transport; none for the in-process hub."""
        if self._subscribe_once is None:
            return None
        thread = threading.Thread(target=self._keep_subscribed, name="horde-events", daemon=True)
        thread.start()
        return thread

    # A transport's one subscription: connect, call `connected()`, then dispatch until the
    # connection fails (it raises). None: nothing to subscribe to (one process).
    _subscribe_once: Callable[[Callable[[], None]], None] | None = None
    _transport = "in-process"

    def _keep_subscribed(self) -> None:
        """Subscribe again whenever the subscription is lost, waiting 0.2 s after a working one
        and doubling up to 5 s while the transport stays down; one warning per outage (the
        retries of the same outage are debug lines) and no traceback."""
        pause = 0.2

        def connected() -> None:
            nonlocal pause
            pause = 0.2

        while True:
            try:
                self._subscribe_once(connected)
            except Exception as exc:
                log.log(logging.WARNING if pause <= 0.2 else logging.DEBUG,
                        "events: %s subscription lost (%s); subscribing again", self._transport, exc)
            self.resets += 1
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    # --- publishing ----------------------------------------------------------------------
    def publish(self, topic: str, data: Any = None) -> None:
        """Publish now (outside any transaction)."""
        self._send([(topic, data)])

    def _send(self, messages: list[tuple[str, Any]]) -> None:
        for topic, data in messages:
            self.dispatch(topic, data)

    def install(self, session_factory) -> None:
        """Publish the messages noted on a session when it commits."""
        from sqlalchemy import event

        event.listen(session_factory, "after_commit", self._after_commit)
        event.listen(session_factory, "after_rollback", _forget)

    def _after_commit(self, session) -> None:
        pending = session.info.pop(NOTES, None)
        if pending:
            try:
                self._send(list(pending.items()))
            except Exception as exc:  # a lost message costs a stream its freshness, never a request
                # One line, no traceback: an outage must not flood the log (issue 12).
                log.warning("events: could not publish %d messages: %s", len(pending), exc)


def _forget(session) -> None:
    session.info.pop(NOTES, None)


def _encode(topic: str, data: Any) -> str:
    return json.dumps({"t": topic, "d": data}, separators=(",", ":"))


def _decode(raw) -> tuple[str, Any] | None:
    try:
        message = json.loads(raw)
        return str(message["t"]), message.get("d")
    except (ValueError, KeyError, TypeError):
        return None


class RedisHub(Hub):
    def __init__(self, url: str, prefix: str) -> None:
        super().__init__()
        import redis

        self.url = url
        self.channel = f"{prefix}events"
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._down_until = 0.0

    def _send(self, messages: list[tuple[str, Any]]) -> None:
        # An unreachable Redis costs a commit at most one short timeout, then nothing for a
        # while (a circuit breaker); listeners are told to re-read (`missed`).
        if time.monotonic() < self._down_until:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for topic, data in messages:
                pipe.publish(self.channel, _encode(topic, data))
            pipe.execute()
        except Exception:
            self._down_until = time.monotonic() + 5.0
            self.resets += 1
            raise

    _transport = "Redis"

    def _subscribe_once(self, connected: Callable[[], None]) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            connected()
            while True:
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    decoded = _decode(message["data"])
                    if decoded is not None:
                        self.dispatch(*decoded)
        finally:
            _close_quietly(pubsub)


class PostgresHub(Hub):
    """NOTIFY inside the changing transaction; one LISTEN connection per process."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine

    def install(self, session_factory) -> None:
        from sqlalchemy import event

        event.listen(session_factory, "before_commit", self._before_commit)
        event.listen(session_factory, "after_commit", _forget)
        event.listen(session_factory, "after_rollback", _forget)

    def _before_commit(self, session) -> None:
        pending = session.info.pop(NOTES, None)
        if pending:
            from sqlalchemy import text

            statement = text("SELECT pg_notify(:channel, :payload)")
            for topic, data in pending.items():
                session.execute(statement, {"channel": PG_CHANNEL, "payload": _encode(topic, data)})

    def _send(self, messages: list[tuple[str, Any]]) -> None:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for topic, data in messages:
                cursor.execute("SELECT pg_notify(%s, %s)", (PG_CHANNEL, _encode(topic, data)))
            cursor.close()
            raw.commit()
        finally:
            raw.close()

    _transport = "PostgreSQL LISTEN"

    def _subscribe_once(self, connected: Callable[[], None]) -> None:
        import psycopg2

        args = self.engine.url.translate_connect_args(username="user", database="dbname")
        connection = psycopg2.connect(connect_timeout=3, **args)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {PG_CHANNEL}")
            connected()
            while True:
                if select.select([connection], [], [], 5.0) == ([], [], []):
                    with connection.cursor() as cursor:  # a dead server is noticed here
                        cursor.execute("SELECT 1")
                    continue
                connection.poll()
                while connection.notifies:
                    decoded = _decode(connection.notifies.pop(0).payload)
                    if decoded is not None:
                        self.dispatch(*decoded)
        finally:
            _close_quietly(connection)


def _close_quietly(resource) -> None:
    try:
        resource.close()
    except Exception:  # already broken: the outage was logged once
        pass


def make_hub(redis_url: str, prefix: str, engine) -> Hub:
    if redis_url:
        return RedisHub(redis_url, prefix)
    if engine.dialect.name == "postgresql":
        return PostgresHub(engine)
    return Hub()


def topics_of(messages: Iterable[tuple[str, Any]]) -> set[str]:
    return {topic for topic, _ in messages}
