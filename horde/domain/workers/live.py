"""The live picture of the horde: active workers, queue positions, model availability.

Computed by the scheduler's leader (queue snapshot every second) or per process with a
short cache (active workers), so `check` and `pop` never scan the queue per request.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from horde.cache import Cache
from horde.domain.workers import checkin, matching
from horde.domain.workers.matching import WorkerProfile
from horde.models import GenerationRequest, User, Worker

R = GenerationRequest
SNAPSHOT_TTL = 10.0
POSSIBLE_TTL = 60.0
BASELINE_SPEED = {"image": 1_000_000.0, "text": 1.0, "interrogation": 1.0}  # things/s of a worker without samples


class LiveWorkers:
    """Per-process cache of the online workers of each kind (refreshed every few seconds)."""

    def __init__(self, ttl: float = 10.0):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[float, list[tuple[Worker, WorkerProfile]]]] = {}

    def get(self, session: Session, kind: str, now: dt.datetime, fresh: bool = False) -> list[tuple[Worker, WorkerProfile]]:
        """`fresh`: read now, whatever the cache holds (before telling a client no worker is online)."""
        with self._lock:
            entry = self._cached.get(kind)
            if entry and entry[0] > time.monotonic() and not fresh:
                return entry[1]
        rows = session.execute(
            select(Worker, User.trusted)
            .join(User, User.id == Worker.owner_id)
            .where(Worker.worker_type == kind, Worker.last_check_in > now - checkin.ONLINE_WINDOW)
        ).all()
        live = [(worker, checkin.stored_profile(worker, trusted)) for worker, trusted in rows]
        for worker, _ in live:
            session.expunge(worker)
        with self._lock:
            self._cached[kind] = (time.monotonic() + self.ttl, live)
        return live

    def clear(self) -> None:
        with self._lock:
            self._cached.clear()


def any_can_serve(live: list[tuple[Worker, WorkerProfile]], values, models: list[str]) -> bool:
    return any(matching.can_serve(profile, values, models) for _, profile in live)


def throughput(live: list[tuple[Worker, WorkerProfile]], kind: str) -> float:
    """Things per second the online workers manage together."""
    return sum((w.speed or BASELINE_SPEED[kind]) * max(w.threads, 1) for w, _ in live if not w.maintenance)


def refresh_queue_snapshot(session: Session, cache: Cache, kind: str, rate: float) -> int:
    """Positions and wait times of every queued request, for cheap `check` answers."""
    rows = session.execute(
        select(R.id, R.n, R.things).where(matching.queued(kind)).order_by(R.sort_key.desc(), R.created)
    ).all()
    ahead = 0.0
    positions: dict[str, str] = {}
    for index, (request_id, n, things) in enumerate(rows, start=1):
        ahead += things * n
        positions[request_id] = f"{index},{int(ahead / max(rate, 1.0))}"
    cache.replace_hash(f"queue:{kind}", positions, SNAPSHOT_TTL)
    return len(rows)


def snapshot_position(cached: str | None) -> tuple[int, int] | None:
    if cached is None:
        return None
    position, wait = cached.split(",")
    return int(position), int(wait)


_AHEAD = or_(R.sort_key > bindparam("sort_key"), and_(R.sort_key == bindparam("sort_key"), R.created < bindparam("created")))
_POSITION = {
    kind: select(func.count().label("ahead"), func.coalesce(func.sum(R.things * R.n), 0).label("things"))
    .where(matching.queued(kind), _AHEAD)
    for kind in ("image", "text")
}


def count_position(read_one, request, rate: float) -> tuple[int, int]:
    """(queue position, wait seconds) counted in the database, when the snapshot lacks it (a
    request newer than the last snapshot). `read_one` runs one read-only statement
    (`Database.read_one`): no transaction is opened for it."""
    row = read_one(_POSITION[request.kind], {"sort_key": request.sort_key, "created": request.created})
    return int(row.ahead) + 1, int((float(row.things) + request.things * request.n) / max(rate, 1.0))
