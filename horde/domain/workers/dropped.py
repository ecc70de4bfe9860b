"""Dropped jobs (spec/behaviour.md §4.5): a worker that keeps failing its jobs is put in
maintenance and gets a TOO_MANY_JOBS_ABORTED suspicion. In raid mode the bar is lower
(10 an hour instead of 20) and the worker is not put in maintenance: it only accumulates
suspicion, so a raid's workers are paused by the suspicion rule without being told early."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from horde.domain.moderation import suspicion
from horde.models import User, Worker

WINDOW = dt.timedelta(hours=1)
THRESHOLD, RAID_THRESHOLD = 20, 10
ALCHEMIST_THRESHOLD = 100  # alchemists run many short forms: a higher bar, raid mode or not
MAINTENANCE_MESSAGE = "This worker was put in maintenance because it dropped too many jobs. Check it, then end maintenance."


def threshold(worker_type: str, raid: bool) -> int:
    if worker_type == "interrogation":
        return ALCHEMIST_THRESHOLD
    return RAID_THRESHOLD if raid else THRESHOLD


def record_drop(session: Session, worker_id: str, *, raid: bool, now: dt.datetime) -> None:
    """One job the worker will not deliver (faulted, or its time ran out)."""
    worker = session.get(Worker, worker_id, with_for_update=True, populate_existing=True)
    if worker is None:
        return
    if worker.dropped_window_start is None or now - worker.dropped_window_start > WINDOW:
        worker.dropped_jobs, worker.dropped_window_start = 0, now
    worker.dropped_jobs += 1
    if worker.dropped_jobs <= threshold(worker.worker_type, raid):
        return
    if not raid:
        worker.maintenance, worker.maintenance_msg = True, MAINTENANCE_MESSAGE
    owner = session.get(User, worker.owner_id)
    suspicion.record_worker(session, worker, bool(owner and owner.trusted), suspicion.TOO_MANY_JOBS_ABORTED, now)
    worker.dropped_jobs = 0
