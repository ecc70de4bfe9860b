"""The cache every process of a horde shares when Redis is absent or unreachable.

Entries live in the `cache_entries` table (horde.models.cache_entry): on PostgreSQL in the
horde's own database (an UNLOGGED table), on SQLite in a file of its own next to the
database, so a cache write never waits behind (or inside) a request's write transaction.
Each operation is one short statement in autocommit (a hash replacement is one
transaction), so readers see an entry whole, old or new. Expired rows are ignored by
reads and dropped by the scheduler's `cache-sweep` job.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from horde.cache import Cache
from horde.db import Database, make_engine
from horde.models.cache_entry import CacheEntry

_GET = text("SELECT value FROM cache_entries WHERE key = :key AND field = '' AND expires_at > :now")
_SET = text(
    "INSERT INTO cache_entries (key, field, value, expires_at) VALUES (:key, '', :value, :expires)"
    " ON CONFLICT (key, field) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
)
_CLAIM = text(
    "INSERT INTO cache_entries (key, field, value, expires_at) VALUES (:key, '', :value, :expires)"
    " ON CONFLICT (key, field) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
    " WHERE cache_entries.expires_at <= :now RETURNING key"
)
_RENEW = text(
    "UPDATE cache_entries SET expires_at = :expires"
    " WHERE key = :key AND field = '' AND value = :value AND expires_at > :now"
)
_RELEASE = text("DELETE FROM cache_entries WHERE key = :key AND field = '' AND value = :value")
_DROP_HASH = text("DELETE FROM cache_entries WHERE key = :key")
_PUT_FIELD = text("INSERT INTO cache_entries (key, field, value, expires_at) VALUES (:key, :field, :value, :expires)")
_HASH_GET = text("SELECT value FROM cache_entries WHERE key = :key AND field = :field AND expires_at > :now")
_HASH_GET_AND_GET = text(
    "SELECT key, value FROM cache_entries WHERE expires_at > :now"
    " AND ((key = :hash AND field = :field) OR (key = :other AND field = ''))"
)
_INCR = text(
    "INSERT INTO cache_entries (key, field, value, expires_at) VALUES (:key, '', :first, :expires)"
    " ON CONFLICT (key, field) DO UPDATE SET"
    " value = CASE WHEN cache_entries.expires_at <= :now THEN excluded.value"
    " ELSE CAST(CAST(cache_entries.value AS BIGINT) + :amount AS TEXT) END,"
    " expires_at = CASE WHEN cache_entries.expires_at <= :now THEN excluded.expires_at"
    " ELSE cache_entries.expires_at END"
    " RETURNING value, expires_at"
)
_COUNTER = text("SELECT value, expires_at FROM cache_entries WHERE key = :key AND field = '' AND expires_at > :now")
_DROP_PREFIX = text("DELETE FROM cache_entries WHERE substr(key, 1, :length) = :prefix")
_SWEEP = text("DELETE FROM cache_entries WHERE expires_at <= :now")
_CLEAR = text("DELETE FROM cache_entries")


class DatabaseCache(Cache):
    """`single` runs one statement in autocommit; `transactional` runs a hash replacement."""

    def __init__(self, single: Engine, transactional: Engine) -> None:
        self.single, self.transactional = single, transactional

    @classmethod
    def for_database(cls, db: Database) -> "DatabaseCache":
        if not db.is_sqlite:
            return cls(db.reader, db.engine)
        url = cache_file_url(db.url)
        single, transactional = make_engine(url, autocommit=True), make_engine(url)
        CacheEntry.__table__.create(transactional, checkfirst=True)
        return cls(single, transactional)

    def _run(self, statement, **params):
        with self.single.connect() as conn:
            return conn.execute(statement, params)

    def _first(self, statement, **params):
        with self.single.connect() as conn:
            return conn.execute(statement, params).first()

    def get(self, key: str) -> Any | None:
        row = self._first(_GET, key=key, now=time.time())
        return None if row is None else json.loads(row[0])

    def set(self, key: str, value: Any, ttl: float) -> None:
        self._run(_SET, key=key, value=json.dumps(value), expires=time.time() + ttl)

    def delete(self, *keys: str) -> None:
        if keys:
            with self.single.connect() as conn:
                conn.execute(_DROP_HASH, [{"key": key} for key in keys])

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        now = time.time()
        return self._first(_CLAIM, key=key, value=json.dumps(value), expires=now + ttl, now=now) is not None

    def renew_if_holder(self, key: str, value: str, ttl: float) -> bool:
        now = time.time()
        return self._run(_RENEW, key=key, value=json.dumps(value), expires=now + ttl, now=now).rowcount > 0

    def release_if_holder(self, key: str, value: str) -> None:
        self._run(_RELEASE, key=key, value=json.dumps(value))

    def replace_hash(self, key: str, mapping: dict[str, str], ttl: float) -> None:
        expires = time.time() + ttl
        rows = [{"key": key, "field": field, "value": value, "expires": expires} for field, value in mapping.items()]
        with self.transactional.begin() as conn:
            conn.execute(_DROP_HASH, {"key": key})
            if rows:
                conn.execute(_PUT_FIELD, rows)

    def hash_get(self, key: str, field: str) -> str | None:
        row = self._first(_HASH_GET, key=key, field=field, now=time.time())
        return None if row is None else row[0]

    def hash_get_and_get(self, key: str, field: str, other: str) -> tuple[str | None, Any | None]:
        with self.single.connect() as conn:
            rows = conn.execute(_HASH_GET_AND_GET, {"hash": key, "field": field, "other": other, "now": time.time()}).all()
        found = dict(rows)
        raw_other = found.get(other)
        return found.get(key), None if raw_other is None else json.loads(raw_other)

    def incr(self, key: str, amount: int, ttl: float, now: float | None = None) -> tuple[int, float]:
        now = time.time() if now is None else now
        value, expires = self._first(_INCR, key=key, first=str(amount), amount=amount, expires=now + ttl, now=now)
        return int(value), float(expires)

    def counter(self, key: str, now: float | None = None) -> tuple[int, float] | None:
        row = self._first(_COUNTER, key=key, now=time.time() if now is None else now)
        return None if row is None else (int(row[0]), float(row[1]))

    def delete_prefix(self, prefix: str) -> None:
        self._run(_DROP_PREFIX, prefix=prefix, length=len(prefix))

    def clear(self) -> None:
        self._run(_CLEAR)

    def sweep(self) -> None:
        self._run(_SWEEP, now=time.time())

    def ping(self) -> bool:
        try:
            self._first(text("SELECT 1"))
            return True
        except Exception:
            return False

    def state(self) -> str:
        return "database"


def cache_file_url(database_url: str) -> str:
    """A SQLite database's cache file: `horde-image.db` → `horde-image.cache.db`, same folder."""
    path = Path(make_url(database_url).database or "horde.db")
    return f"sqlite:///{path.with_name(path.stem + '.cache' + path.suffix)}"
