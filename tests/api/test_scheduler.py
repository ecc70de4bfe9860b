"""The scheduler's leader lock: one node runs the jobs; another takes over when it stops."""

from __future__ import annotations

import threading
import time


from horde.cache import RedisCache
from horde.jobs.locks import CacheLeaderLock, FileLeaderLock, PostgresLeaderLock
from horde.jobs.scheduler import PeriodicJob, Scheduler


class Recorder:
    """Records (node, start, end) of each job run, to check runs never overlap."""

    def __init__(self):
        self.runs: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()

    def job(self, node: str) -> PeriodicJob:
        def run():
            start = time.monotonic()
            time.sleep(0.02)
            with self.lock:
                self.runs.append((node, start, time.monotonic()))

        return PeriodicJob("record", 0.05, run)

    def nodes(self, since: float = 0.0) -> set[str]:
        with self.lock:
            return {node for node, start, _ in self.runs if start >= since}

    def assert_no_overlap(self):
        runs = sorted(self.runs, key=lambda r: r[1])
        for (node_a, _, end_a), (node_b, start_b, _) in zip(runs, runs[1:]):
            if node_a != node_b:
                assert start_b >= end_a, "two schedulers ran jobs at the same time"


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class CountedLock:
    """A lock whose attempts to lead can be waited for (instead of sleeping and hoping
    the other scheduler has tried meanwhile)."""

    def __init__(self, lock):
        self.lock, self.node_id, self.attempts = lock, lock.node_id, 0

    def acquire(self) -> bool:
        leader = self.lock.acquire()
        self.attempts += 1
        return leader

    def release(self) -> None:
        self.lock.release()


def exercise(make_lock, takeover_within: float):
    recorder = Recorder()
    first = Scheduler([recorder.job("first")], make_lock("first"), tick=0.05).start()
    assert wait_for(lambda: "first" in recorder.nodes())
    second_lock = CountedLock(make_lock("second"))
    second = Scheduler([recorder.job("second")], second_lock, tick=0.05).start()
    try:
        assert wait_for(lambda: second_lock.attempts >= 5), "the second scheduler never tried to lead"
        assert recorder.nodes() == {"first"}, "only the leader runs jobs"
        assert first.is_leader and not second.is_leader
        first.stop()
        stopped = time.monotonic()
        assert wait_for(lambda: "second" in recorder.nodes(stopped), takeover_within), "the other scheduler takes over"
        assert second.is_leader
        recorder.assert_no_overlap()
    finally:
        first.stop()
        second.stop()


def test_redis_leader_lock(redis_url):
    cache = RedisCache(redis_url, prefix=f"test-{time.time()}:")
    # A stopping leader releases the lock, so the takeover does not wait for the TTL; a long
    # TTL keeps a leader whose renewal is late (a busy machine) from losing it mid-test.
    exercise(lambda node: CacheLeaderLock(cache, ttl=30.0, node_id=node), takeover_within=3.0)


def test_redis_leader_lock_expires_when_the_holder_dies(redis_url):
    cache = RedisCache(redis_url, prefix=f"test-{time.time()}:")
    dead = CacheLeaderLock(cache, ttl=0.5, node_id="dead")
    assert dead.acquire()
    claimed = time.monotonic()
    alive = CacheLeaderLock(cache, ttl=0.5, node_id="alive")
    assert not alive.acquire()
    assert wait_for(alive.acquire, 5.0), "the holder never renewed, yet its claim did not lapse"  # polls until it lapses
    assert time.monotonic() - claimed >= 0.45  # not before its TTL
    assert not dead.acquire()


def test_postgres_advisory_leader_lock(pg_app):
    engine = pg_app.extensions["horde"].db.engine
    exercise(lambda node: PostgresLeaderLock(engine, node_id=node), takeover_within=3.0)


def test_file_leader_lock(tmp_path):
    path = tmp_path / "scheduler.lock"
    exercise(lambda node: FileLeaderLock(path, node_id=node), takeover_within=3.0)


def test_a_failing_job_does_not_stop_the_others(tmp_path):
    ran = []

    def boom():
        raise RuntimeError("job failure")

    scheduler = Scheduler(
        [PeriodicJob("boom", 0.01, boom), PeriodicJob("ok", 0.01, lambda: ran.append(1))],
        FileLeaderLock(tmp_path / "l.lock"),
        tick=0.01,
    ).start()
    assert wait_for(lambda: len(ran) >= 2), "the job after the failing one stopped running"
    scheduler.stop()


class AlwaysLeader:
    node_id = "only"

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def test_a_job_failing_every_tick_is_logged_once_until_it_works(caplog):
    """A database outage fails every job on every tick: one log line when it starts failing
    and one when it works again, never a traceback per tick."""
    import logging

    database_down = True

    def job() -> None:
        if database_down:
            raise ConnectionError("connection refused")

    scheduler = Scheduler([PeriodicJob("snapshot", 0.0, job)], AlwaysLeader())
    caplog.set_level(logging.INFO, logger="horde.jobs.scheduler")
    for _ in range(20):
        scheduler.run_once()
    failures = [r for r in caplog.records if "job snapshot failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    database_down = False
    scheduler.run_once()
    scheduler.run_once()
    assert [r.getMessage() for r in caplog.records].count("job snapshot works again") == 1
    assert len(caplog.records) == 3  # took leadership, failed, works again
