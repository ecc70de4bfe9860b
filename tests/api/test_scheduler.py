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


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def exercise(make_lock, takeover_within: float):
    recorder = Recorder()
    first = Scheduler([recorder.job("first")], make_lock("first"), tick=0.05).start()
    wait_for(lambda: "first" in recorder.nodes())
    second = Scheduler([recorder.job("second")], make_lock("second"), tick=0.05).start()
    time.sleep(0.6)
    try:
        assert recorder.nodes() == {"first"}, "only the leader runs jobs"
        assert first.is_leader and not second.is_leader
        first.stop()
        stopped = time.monotonic()
        deadline = stopped + takeover_within
        while time.monotonic() < deadline and "second" not in recorder.nodes(stopped):
            time.sleep(0.05)
        assert "second" in recorder.nodes(stopped), "the other scheduler takes over"
        assert second.is_leader
        recorder.assert_no_overlap()
    finally:
        first.stop()
        second.stop()


def test_redis_leader_lock(redis_url):
    cache = RedisCache(redis_url, prefix=f"test-{time.time()}:")
    exercise(lambda node: CacheLeaderLock(cache, ttl=1.0, node_id=node), takeover_within=3.0)


def test_redis_leader_lock_expires_when_the_holder_dies(redis_url):
    cache = RedisCache(redis_url, prefix=f"test-{time.time()}:")
    dead = CacheLeaderLock(cache, ttl=0.5, node_id="dead")
    assert dead.acquire()
    alive = CacheLeaderLock(cache, ttl=0.5, node_id="alive")
    assert not alive.acquire()
    time.sleep(0.7)  # the holder never renewed: its claim lapses
    assert alive.acquire()
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
    time.sleep(0.2)
    scheduler.stop()
    assert len(ran) >= 2
