"""Retention: the periodic jobs that keep the database from growing under steady traffic.

Each job repeats one bounded chunk of work (its own transaction, committed) until there is
nothing left or its time budget is spent, so a backlog is worked off over several runs and
no run holds locks for long or keeps the scheduler's other jobs waiting much. What each one
keeps, and why, is said where its rule lives:

| job | every | removes |
|---|---|---|
| expire-requests | 30 s | requests past their expiry, with their jobs and stored images (queue/maintenance.py) |
| expire-interrogations | 60 s | interrogations whose forms have all expired, with their stored images (queue/alchemy.py) |
| prune-generation-stats | 60 s | raw statistics rows rolled up and older than the day window; daily rows older than the month (queue/stats.py) |
| roll-up-kudos-events | 60 s | kudos events older than a day, added to per-user roll-ups first (accounts/kudos_rollup.py) |
| prune-worker-messages | 3600 s | messages expired a week ago (workers/messages.py) |
| prune-webhook-deliveries | 600 s | deliveries older than a day (queue/webhooks.py) |
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy.orm import Session

from horde.domain.accounts import kudos_rollup
from horde.domain.queue import alchemy, maintenance, stats
from horde.domain.queue import webhooks as outbox
from horde.domain.workers import messages
from horde.services import Services

BUDGET_SECONDS = 2.0  # of one run: the scheduler runs its jobs one after the other

Chunk = Callable[[Session, Services, dt.datetime], int]  # one bounded transaction; returns rows handled


def _generation_stats(session: Session, svc: Services, now: dt.datetime) -> int:
    return sum(stats.prune_raw(session, kind, now) for kind in maintenance.served_kinds(svc)) + stats.prune_days(session, now)


@dataclass(frozen=True)
class RetentionJob:
    name: str
    interval: float
    chunks: tuple[Chunk, ...]  # worked through in order, each until it handles nothing


JOBS = (
    RetentionJob("expire-requests", 30.0, (maintenance.expire_requests,)),
    RetentionJob("expire-interrogations", 60.0, (alchemy.expire_interrogations,)),
    RetentionJob("prune-generation-stats", 60.0, (_generation_stats,)),
    RetentionJob(
        "roll-up-kudos-events", 60.0,
        (lambda s, _svc, now: kudos_rollup.roll_up(s, now), lambda s, _svc, now: kudos_rollup.roll_up_keyed(s, now)),
    ),
    RetentionJob("prune-worker-messages", 3600.0, (lambda s, _svc, now: messages.prune_expired(s, now),)),
    RetentionJob("prune-webhook-deliveries", 600.0, (lambda s, _svc, now: outbox.prune(s, now),)),
)


def run(job: RetentionJob, session: Session, svc: Services, now: dt.datetime, budget: float = BUDGET_SECONDS) -> int:
    """One run of `job` as the scheduler makes it: each chunk function is called until it
    handles nothing or the budget is spent (at least once each); returns the rows handled."""
    total, deadline = 0, time.monotonic() + budget
    for chunk in job.chunks:
        while True:
            done = chunk(session, svc, now)
            total += done
            if not done or time.monotonic() >= deadline:
                break
    return total
