"""Leader locks: whoever holds one runs the periodic jobs (DESIGN.md §5).

A PostgreSQL session advisory lock (horde.jobs.leader_lock picks it, Redis or not); on
SQLite (one machine by nature) an exclusive lock on a file. `CacheLeaderLock` (a cache's
`SET NX PX` with renewal) serves a cache-only deployment.
A holder that dies loses the lock: the Redis key expires, PostgreSQL ends the session,
the kernel drops the file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import uuid
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from horde.cache import Cache

LEADER_KEY = "scheduler:leader"
# A constant id for pg_try_advisory_lock; any 64-bit number unique to this purpose.
ADVISORY_LOCK_ID = 0x486F726465  # "Horde"


def new_node_id() -> str:
    """Who holds leadership, as an operator reads it: host, process id, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
        self.node_id = node_id or new_node_id()

    def acquire(self) -> bool:
        if self.cache.renew_if_holder(LEADER_KEY, self.node_id, self.ttl):
            return True
        return self.cache.set_if_absent(LEADER_KEY, self.node_id, self.ttl)

    def release(self) -> None:
        self.cache.release_if_holder(LEADER_KEY, self.node_id)


class PostgresLeaderLock(LeaderLock):
    def __init__(self, engine: Engine, node_id: str | None = None):
        self.engine = engine
        self.node_id = node_id or new_node_id()
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
        self.node_id = node_id or new_node_id()
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


# `horde db upgrade` on several nodes at once (containers starting together): one migrates,
# the others wait for it and then find nothing left to do.
MIGRATION_LOCK_ID = 0x486F72644D  # "HordM"


@contextlib.contextmanager
def migration_lock(database_url: str, lock_dir: Path) -> Iterator[None]:
    """Held while one process migrates: a PostgreSQL session advisory lock (every node sees
    it), or on SQLite an exclusive lock on a file of the data folder. Both wait."""
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                    conn.commit()
        finally:
            engine.dispose()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / "migrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
