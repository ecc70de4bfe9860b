"""Short-lived shared state: Redis when configured, an in-process stand-in otherwise.

Nothing stored here is the only copy of anything that matters (DESIGN.md §5): losing it
loses no request, job, result or kudos; it only costs recomputation.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import redis


class Cache:
    """The operations Horde needs. Values are JSON-serialisable."""

    def get(self, key: str) -> Any | None:
        raise NotImplementedError

    def set(self, key: str, value: Any, ttl: float) -> None:
        raise NotImplementedError

    def delete(self, *keys: str) -> None:
        raise NotImplementedError

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Atomically claim `key` for `ttl` seconds; False if someone holds it."""
        raise NotImplementedError

    def renew_if_holder(self, key: str, value: str, ttl: float) -> bool:
        """Extend a claim only if `value` still holds it."""
        raise NotImplementedError

    def release_if_holder(self, key: str, value: str) -> None:
        raise NotImplementedError

    def replace_hash(self, key: str, mapping: dict[str, str], ttl: float) -> None:
        """Swap in a whole hash at once (readers see the old one or the new one)."""
        raise NotImplementedError

    def hash_get(self, key: str, field: str) -> str | None:
        raise NotImplementedError

    def hash_get_and_get(self, key: str, field: str, other: str) -> tuple[str | None, Any | None]:
        """A hash field and another key, in one round trip (the `check` route's two reads)."""
        return self.hash_get(key, field), self.get(other)

    def ping(self) -> bool:
        return True


class MemoryCache(Cache):
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> Any | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    def get(self, key: str) -> Any | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (time.monotonic() + ttl, value)
            return True

    def renew_if_holder(self, key: str, value: str, ttl: float) -> bool:
        with self._lock:
            if self._live(key) != value:
                return False
            self._data[key] = (time.monotonic() + ttl, value)
            return True

    def release_if_holder(self, key: str, value: str) -> None:
        with self._lock:
            if self._live(key) == value:
                self._data.pop(key, None)

    def replace_hash(self, key: str, mapping: dict[str, str], ttl: float) -> None:
        self.set(key, dict(mapping), ttl)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def hash_get(self, key: str, field: str) -> str | None:
        mapping = self.get(key)
        return None if mapping is None else mapping.get(field)


_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisCache(Cache):
    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        self.prefix = prefix
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)

    def _k(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def get(self, key: str) -> Any | None:
        raw = self.client.get(self._k(key))
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: float) -> None:
        self.client.set(self._k(key), json.dumps(value), px=max(1, int(ttl * 1000)))

    def delete(self, *keys: str) -> None:
        if keys:
            self.client.delete(*(self._k(k) for k in keys))

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(self.client.set(self._k(key), json.dumps(value), nx=True, px=int(ttl * 1000)))

    def renew_if_holder(self, key: str, value: str, ttl: float) -> bool:
        return bool(self._renew(keys=[self._k(key)], args=[json.dumps(value), int(ttl * 1000)]))

    def release_if_holder(self, key: str, value: str) -> None:
        self._release(keys=[self._k(key)], args=[json.dumps(value)])

    def replace_hash(self, key: str, mapping: dict[str, str], ttl: float) -> None:
        staging = self._k(f"{key}:staging")
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(staging)
        items = list(mapping.items())
        for start in range(0, len(items), 2000):
            pipe.hset(staging, mapping=dict(items[start : start + 2000]))
        if items:
            pipe.pexpire(staging, int(ttl * 1000))
            pipe.rename(staging, self._k(key))
        else:
            pipe.delete(self._k(key))
        pipe.execute()

    def hash_get(self, key: str, field: str) -> str | None:
        raw = self.client.hget(self._k(key), field)
        return None if raw is None else raw.decode()

    def hash_get_and_get(self, key: str, field: str, other: str) -> tuple[str | None, Any | None]:
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self._k(key), field)
        pipe.get(self._k(other))
        field_value, other_value = pipe.execute()
        return (
            None if field_value is None else field_value.decode(),
            None if other_value is None else json.loads(other_value),
        )

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def make_cache(redis_url: str, prefix: str) -> Cache:
    return RedisCache(redis_url, prefix) if redis_url else MemoryCache()
