"""One truth across processes without Redis (the database cache), and Redis behind a breaker.

A second application built on the same database plays a second server process: what one
caches, the other reads; rate limits count both together.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis

from horde.app import create_app
from horde.cache import CircuitBreaker, FailoverCache, MemoryCache
from horde.cache_db import DatabaseCache
from tests.conftest import make_settings


@pytest.fixture
def shared(app):
    return app.extensions["horde"].cache


def twin(app, **overrides):
    """Another process of the same horde: same database, its own everything else."""
    settings = app.extensions["horde"].settings
    return create_app(make_settings(Path(settings.data_dir), settings.database_url, **overrides))


def test_without_redis_the_cache_is_the_database(app, shared):
    assert isinstance(shared, DatabaseCache)


def test_what_one_process_caches_the_other_serves(app, shared):
    other = twin(app).extensions["horde"].cache
    shared.set("stats:image", {"minute": {"m": [1, 2.0]}}, 60)
    assert other.get("stats:image") == {"minute": {"m": [1, 2.0]}}
    other.replace_hash("queue:image", {"r1": "1,10", "r2": "2,20"}, 60)
    assert shared.hash_get("queue:image", "r2") == "2,20"
    shared.set("possible:r1", True, 60)
    assert other.hash_get_and_get("queue:image", "r1", "possible:r1") == ("1,10", True)
    other.replace_hash("queue:image", {"r3": "1,5"}, 60)  # a new snapshot replaces the old whole
    assert shared.hash_get("queue:image", "r1") is None and shared.hash_get("queue:image", "r3") == "1,5"
    other.delete("stats:image")
    assert shared.get("stats:image") is None


def test_database_cache_entries_expire(shared):
    shared.set("short", 1, -1)  # already past
    assert shared.get("short") is None
    shared.sweep()


def test_database_cache_counts_and_claims(shared):
    assert shared.incr("hits", 1, 60, now=1000.0) == (1, 1060.0)
    assert shared.incr("hits", 2, 60, now=1059.0) == (3, 1060.0)  # the window is the first call's
    assert shared.counter("hits", now=1059.5) == (3, 1060.0)
    assert shared.counter("hits", now=1060.0) is None  # the window ended
    assert shared.incr("hits", 1, 60, now=1060.0) == (1, 1120.0)  # and a new one starts
    shared.incr("limit:x", 1, 60, now=1000.0)
    shared.delete_prefix("limit:")
    assert shared.counter("limit:x", now=1000.0) is None and shared.counter("hits", now=1100.0) == (1, 1120.0)
    assert shared.set_if_absent("lock", "a", 60) is True
    assert shared.set_if_absent("lock", "b", 60) is False
    assert shared.renew_if_holder("lock", "b", 60) is False and shared.renew_if_holder("lock", "a", 60) is True
    shared.release_if_holder("lock", "b")
    assert shared.get("lock") == "a"
    shared.release_if_holder("lock", "a")
    assert shared.set_if_absent("lock", "b", 60) is True


def test_rate_limits_count_across_processes(app):
    first = twin(app, rate_limits=True).test_client()
    second = twin(app, rate_limits=True).test_client()
    statuses = [(first if n % 2 else second).get("/api/v2/status/modes").status_code for n in range(31)]
    assert statuses[:30] == [200] * 30  # GET /status/modes: 30 per minute per client
    assert statuses[30] == 429


# --- the breaker in front of Redis ----------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FlakyRedis(MemoryCache):
    """A primary that can be switched off: raises what redis-py raises when Redis is down."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    def get(self, key):
        self.calls += 1
        if self.down:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        return super().get(key)

    def set(self, key, value, ttl):
        self.calls += 1
        if self.down:
            raise redis.ConnectionError("Connection refused.")
        super().set(key, value, ttl)

    def delete(self, *keys):
        if self.down:
            raise redis.ConnectionError("Connection refused.")
        super().delete(*keys)


@pytest.fixture
def failover():
    clock = Clock()
    primary, fallback = FlakyRedis(), MemoryCache()
    return FailoverCache(primary, fallback, CircuitBreaker("Redis", retry_after=1.0, clock=clock)), primary, fallback, clock


def test_a_redis_outage_falls_back_without_asking_redis_each_time(failover, caplog):
    cache, primary, fallback, clock = failover
    cache.set("k", "from redis", 60)
    primary.down = True
    caplog.set_level(logging.WARNING, logger="horde.cache")
    assert cache.get("k") is None  # the first failure opens the breaker; the fallback answers
    calls = primary.calls
    cache.set("k", "from fallback", 60)
    for _ in range(50):
        assert cache.get("k") == "from fallback"
    assert primary.calls == calls  # no request waits on Redis while the breaker is open
    clock.now += 1.0
    assert cache.get("k") == "from fallback"  # one probe a second, still down
    assert primary.calls == calls + 1
    assert [r.getMessage() for r in caplog.records].count(
        "Redis unreachable (Error 111 connecting to 127.0.0.1:1. Connection refused.): using the fallback until it answers again"
    ) == 1


def test_redis_is_used_again_by_itself_and_forgets_what_changed_meanwhile(failover, caplog):
    cache, primary, fallback, clock = failover
    cache.set("k", "old", 60)
    primary.down = True
    cache.set("k", "new", 60)  # written while Redis was away
    caplog.set_level(logging.WARNING, logger="horde.cache")
    primary.down = False
    clock.now += 1.0
    assert cache.get("other") is None  # the probe succeeds: the breaker closes
    assert not cache.breaker.is_open
    assert cache.get("k") is None  # Redis's copy from before the outage is gone: recomputed, never stale
    cache.set("k", "fresh", 60)
    assert primary.get("k") == "fresh"
    assert any(r.getMessage() == "Redis is back: using it again" for r in caplog.records)


def test_a_bad_command_is_not_an_outage(failover):
    cache, primary, _, _ = failover

    def broken(key):
        raise redis.ResponseError("WRONGTYPE")

    primary.get = broken
    with pytest.raises(redis.ResponseError):
        cache.get("k")
    assert not cache.breaker.is_open


def test_redis_counters_follow_the_callers_clock(redis_url):
    from horde.cache import RedisCache

    cache = RedisCache(redis_url, prefix="test-counters:")
    cache.delete_prefix("")
    assert cache.incr("limit:a", 1, 60, now=1000.0) == (1, 1060.0)
    assert cache.incr("limit:a", 2, 60, now=1059.0) == (3, 1060.0)
    assert cache.counter("limit:a", now=1059.5) == (3, 1060.0)
    assert cache.counter("limit:a", now=1060.0) is None
    assert cache.incr("limit:a", 1, 60, now=1060.0) == (1, 1120.0)
    cache.delete_prefix("limit:")
    assert cache.counter("limit:a", now=1060.0) is None
