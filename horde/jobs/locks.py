"""Leader locks: whoever holds one runs the periodic jobs (DESIGN.md §5).

A PostgreSQL session advisory lock (horde.jobs.leader_lock picks it, Redis or not); on
SQLite (one machine by nature) an exclusive lock on a file. `CacheLeaderLock` (a cache's
`SET NX PX` with renewal) serves a cache-only deployment.
A holder that dies loses the lock: the Redis key expires, PostgreSQL ends the session,
the kernel drops the file lock.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from horde.cache import Cache

LEADER_KEY = "scheduler:leader"
# A constant id for pg_try_advisory_lock; any 64-bit number unique to this purpose.
ADVISORY_LOCK_ID = 0x486F726465  # "Horde"


class LeaderLock:
    node_id: str

    def acquire(self) -> bool:
        """Take or keep leadership; True while we hold it."""
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class CacheLeaderLock(LeaderLock):
    def __init__(self, cache: Cache, ttl: float = 5.0, node_id: str | None = None):
        self.cache = cache
        self.ttl = ttl
        self.node_id = node_id or uuid.uuid4().hex

    def acquire(self) -> bool:
        if self.cache.renew_if_holder(LEADER_KEY, self.node_id, self.ttl):
            return True
        return self.cache.set_if_absent(LEADER_KEY, self.node_id, self.ttl)

    def release(self) -> None:
        self.cache.release_if_holder(LEADER_KEY, self.node_id)


class PostgresLeaderLock(LeaderLock):
    def __init__(self, engine: Engine, node_id: str | None = None):
        self.engine = engine
        self.node_id = node_id or uuid.uuid4().hex
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                self._drop()
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID}).scalar()
            conn.commit()
        except Exception:
            conn.close()
            return False
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def _drop(self) -> None:
        try:
            self._conn.invalidate()  # type: ignore[union-attr]
        finally:
            self._conn = None

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
            self._conn.commit()
            self._conn.close()
        except Exception:
            self._drop()
        self._conn = None


class FileLeaderLock(LeaderLock):
    def __init__(self, path: Path, node_id: str | None = None):
        self.path = path
        self.node_id = node_id or uuid.uuid4().hex
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
