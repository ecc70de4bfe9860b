"""Short-lived shared state: Redis when configured, the database otherwise.

Nothing stored here is the only copy of anything that matters (DESIGN.md §5): losing it
loses no request, job, result or kudos; it only costs recomputation.

- With Redis configured, `FailoverCache` puts a circuit breaker in front of it: when Redis
  is unreachable (refused, timed out, loading), the first failure opens the breaker, one
  log line says so, and every operation goes to the fallback (the database cache) until a
  probe, at most once per `retry_after` seconds, finds Redis again (one more log line).
  Requests never each wait for a timeout. Keys written or deleted during the outage are
  dropped from Redis on its return, so no process reads a value older than the fallback's.
- Without Redis, `horde.cache_db.DatabaseCache` keeps entries in a table every process
  shares (an UNLOGGED table on PostgreSQL, a file of its own next to a SQLite database):
  what one process computed is what the others serve.
- `MemoryCache` is a per-process stand-in for tests and tools.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)


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

    def incr(self, key: str, amount: int, ttl: float, now: float | None = None) -> tuple[int, float]:
        """Add `amount` to a counter whose window ends `ttl` seconds after its first
        increment; return (new value, window end in seconds since the epoch). `now` (the
        epoch time, default the clock's) decides whether the window has ended: the rate
        limiter passes its own. Counters are read with `counter`, not `get`."""
        raise NotImplementedError

    def counter(self, key: str, now: float | None = None) -> tuple[int, float] | None:
        """(value, window end) of a counter whose window has not ended at `now`."""
        raise NotImplementedError

    def delete_prefix(self, prefix: str) -> None:
        """Forget every key that starts with `prefix` (resetting the rate limits)."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget everything (tests)."""
        raise NotImplementedError

    def sweep(self) -> None:
        """Drop expired entries (a periodic job); stores that expire by themselves do nothing."""

    def ping(self) -> bool:
        return True

    def state(self) -> str:
        """For the readiness route: 'redis', 'database', 'memory', or 'database (redis down)'."""
        return type(self).__name__


class MemoryCache(Cache):
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._counters: dict[str, tuple[int, float]] = {}  # key -> (value, window end, epoch seconds)
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
                self._counters.pop(key, None)

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
            self._counters.clear()

    def hash_get(self, key: str, field: str) -> str | None:
        mapping = self.get(key)
        return None if mapping is None else mapping.get(field)

    def incr(self, key: str, amount: int, ttl: float, now: float | None = None) -> tuple[int, float]:
        now = time.time() if now is None else now
        with self._lock:
            value, end = self._counters.get(key, (0, 0.0))
            if end <= now:
                value, end = 0, now + ttl
            self._counters[key] = (value + amount, end)
            return value + amount, end

    def counter(self, key: str, now: float | None = None) -> tuple[int, float] | None:
        now = time.time() if now is None else now
        with self._lock:
            found = self._counters.get(key)
        return found if found is not None and found[1] > now else None

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for store in (self._data, self._counters):
                for key in [k for k in store if k.startswith(prefix)]:
                    del store[key]

    def state(self) -> str:
        return "memory"


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


# A counter is a hash {n, end}: `end` (epoch seconds) decides the window against the
# caller's clock; the key's own expiry only cleans up.
_INCR = """
local ends = tonumber(redis.call('hget', KEYS[1], 'end') or '0')
local now = tonumber(ARGV[3])
if ends <= now then
  ends = now + tonumber(ARGV[2])
  redis.call('del', KEYS[1])
  redis.call('hset', KEYS[1], 'end', ARGV[4])
  redis.call('pexpire', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
  return {redis.call('hincrby', KEYS[1], 'n', ARGV[1]), ARGV[4]}
end
return {redis.call('hincrby', KEYS[1], 'n', ARGV[1]), redis.call('hget', KEYS[1], 'end')}
"""

# What tells that Redis is unreachable (as opposed to a bad command): the breaker opens.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisCache(Cache):
    # Short timeouts: a Redis that does not answer within them counts as down (the breaker
    # of FailoverCache then stops asking it). One immediate retry on a fresh connection, so
    # the pooled connections a Redis restart killed cost no request.
    CONNECT_TIMEOUT = 0.5
    READ_TIMEOUT = 1.0

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=self.READ_TIMEOUT, socket_connect_timeout=self.CONNECT_TIMEOUT,
            health_check_interval=30, retry=Retry(NoBackoff(), 1),
        )
        self.prefix = prefix
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._incr = self.client.register_script(_INCR)

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

    def incr(self, key: str, amount: int, ttl: float, now: float | None = None) -> tuple[int, float]:
        now = time.time() if now is None else now
        value, ends = self._incr(keys=[self._k(key)], args=[amount, repr(float(ttl)), repr(now), repr(now + ttl)])
        return int(value), float(ends)

    def counter(self, key: str, now: float | None = None) -> tuple[int, float] | None:
        now = time.time() if now is None else now
        value, ends = self.client.hmget(self._k(key), "n", "end")
        if value is None or ends is None or float(ends) <= now:
            return None
        return int(value), float(ends)

    def delete_prefix(self, prefix: str) -> None:
        for found in self.client.scan_iter(match=f"{self.prefix}{prefix}*", count=1000):
            self.client.delete(found)

    def clear(self) -> None:
        for found in self.client.scan_iter(match=f"{self.prefix}*", count=1000):
            self.client.delete(found)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def state(self) -> str:
        return "redis"


class CircuitBreaker:
    """Closed: calls go through. The first failure opens it (one log line); while open, one
    caller at a time may probe, at most once per `retry_after` seconds; a probe that
    succeeds closes it again (one log line)."""

    def __init__(self, name: str, retry_after: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.retry_after, self.clock = name, retry_after, clock
        self.is_open = False
        self._next_probe = 0.0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        if not self.is_open:
            return True
        with self._lock:
            now = self.clock()
            if now < self._next_probe:
                return False
            self._next_probe = now + self.retry_after  # this caller probes; the others wait for it
            return True

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._next_probe = self.clock() + self.retry_after
            if self.is_open:
                return
            self.is_open = True
        log.warning("%s unreachable (%s): using the fallback until it answers again", self.name, exc or type(exc).__name__)

    def succeeded(self) -> bool:
        """Close the breaker; True if it was open (the caller may resynchronise)."""
        if not self.is_open:
            return False
        with self._lock:
            if not self.is_open:
                return False
            self.is_open = False
        log.warning("%s is back: using it again", self.name)
        return True


class FailoverCache(Cache):
    """Redis behind a circuit breaker, with another cache to fall back on (module docstring)."""

    MAX_TOUCHED = 100_000

    def __init__(self, primary: Cache, fallback: Cache, breaker: CircuitBreaker | None = None) -> None:
        self.primary, self.fallback = primary, fallback
        self.breaker = breaker or CircuitBreaker("Redis")
        self._touched: set[str] = set()  # keys written or deleted while Redis was away
        self._touched_lock = threading.Lock()

    def _call(self, name: str, *args, key: str | tuple = ()):
        if self.breaker.allow():
            try:
                result = getattr(self.primary, name)(*args)
            except UNREACHABLE as exc:
                self.breaker.failed(exc)
            else:
                if self.breaker.succeeded():
                    self._resynchronise()
                return result
        self._touch(key)
        return getattr(self.fallback, name)(*args)

    def _touch(self, key: str | tuple) -> None:
        keys = (key,) if isinstance(key, str) else key
        if not keys:
            return
        with self._touched_lock:
            if len(self._touched) < self.MAX_TOUCHED:
                self._touched.update(keys)

    def _resynchronise(self) -> None:
        """Drop from Redis what changed in the fallback meanwhile: their next read misses
        and recomputes, instead of serving what Redis held before the outage."""
        with self._touched_lock:
            touched, self._touched = list(self._touched), set()
        try:
            for start in range(0, len(touched), 1000):
                self.primary.delete(*touched[start : start + 1000])
        except UNREACHABLE as exc:
            self.breaker.failed(exc)

    def get(self, key: str) -> Any | None:
        return self._call("get", key)

    def set(self, key: str, value: Any, ttl: float) -> None:
        self._call("set", key, value, ttl, key=key)

    def delete(self, *keys: str) -> None:
        self._call("delete", *keys, key=keys)

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return self._call("set_if_absent", key, value, ttl, key=key)

    def renew_if_holder(self, key: str, value: str, ttl: float) -> bool:
        return self._call("renew_if_holder", key, value, ttl, key=key)

    def release_if_holder(self, key: str, value: str) -> None:
        self._call("release_if_holder", key, value, key=key)

    def replace_hash(self, key: str, mapping: dict[str, str], ttl: float) -> None:
        self._call("replace_hash", key, mapping, ttl, key=key)

    def hash_get(self, key: str, field: str) -> str | None:
        return self._call("hash_get", key, field)

    def hash_get_and_get(self, key: str, field: str, other: str) -> tuple[str | None, Any | None]:
        return self._call("hash_get_and_get", key, field, other)

    def incr(self, key: str, amount: int, ttl: float, now: float | None = None) -> tuple[int, float]:
        return self._call("incr", key, amount, ttl, now, key=key)

    def counter(self, key: str, now: float | None = None) -> tuple[int, float] | None:
        return self._call("counter", key, now)

    def delete_prefix(self, prefix: str) -> None:
        self.fallback.delete_prefix(prefix)
        self._call("delete_prefix", prefix)

    def clear(self) -> None:
        self.fallback.clear()
        self._call("clear")

    def sweep(self) -> None:
        self.fallback.sweep()

    def ping(self) -> bool:
        """True when the horde can use a cache: Redis, or the fallback while Redis is away."""
        return self.primary.ping() or self.fallback.ping()

    def state(self) -> str:
        return f"{self.fallback.state()} (redis unreachable)" if self.breaker.is_open else "redis"


def make_cache(redis_url: str, prefix: str, fallback: Cache | None = None) -> Cache:
    """Redis behind a breaker when configured (falling back on `fallback`), else `fallback`."""
    fallback = fallback or MemoryCache()
    return FailoverCache(RedisCache(redis_url, prefix), fallback) if redis_url else fallback
