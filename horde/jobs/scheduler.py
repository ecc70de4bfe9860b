"""Runs periodic jobs on the one node that holds the leader lock."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from horde.db import is_disconnect
from horde.jobs.locks import LeaderLock

log = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    interval: float  # seconds between the end of one run and the start of the next
    run: Callable[[], None]
    next_run: float = field(default=0.0)


class Scheduler:
    def __init__(self, jobs: list[PeriodicJob], lock: LeaderLock, tick: float = 0.5):
        self.jobs = jobs
        self.lock = lock
        self.tick = tick
        self.is_leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()  # what failed last time: logged once, until it works again

    def run_once(self) -> None:
        """One tick: claim (or keep) leadership, then run whatever is due."""
        try:
            leader = self.lock.acquire()
        except Exception as exc:
            self._failed("leader lock", exc)
            leader = False
        else:
            self._worked("leader lock")
        if leader != self.is_leader:
            log.info("scheduler %s %s leadership", self.lock.node_id, "took" if leader else "lost")
            self.is_leader = leader
        if not leader:
            return
        for job in self.jobs:
            if self._stop.is_set():
                return
            now = time.monotonic()
            if now < job.next_run:
                continue
            try:
                job.run()
            except Exception as exc:
                self._failed(f"job {job.name}", exc)
            else:
                self._worked(f"job {job.name}")
            job.next_run = time.monotonic() + job.interval

    def _failed(self, what: str, exc: Exception) -> None:
        """The first failure in a row is logged whole; the repeats (a database that is down
        fails every tick) are not, until it works again."""
        if what in self._failing:
            return
        self._failing.add(what)
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # The database being unreachable needs no traceback; anything else gets one.
        log.error("%s failed (not logged again until it works): %s", what, first_line, exc_info=None if is_disconnect(exc) else exc)

    def _worked(self, what: str) -> None:
        if what in self._failing:
            self._failing.discard(what)
            log.warning("%s works again", what)

    def run_forever(self) -> None:
        try:
            while not self._stop.is_set():
                self.run_once()
                self._stop.wait(self.tick)
        finally:
            self.lock.release()
            self.is_leader = False

    def start(self) -> "Scheduler":
        self._thread = threading.Thread(target=self.run_forever, name="horde-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
