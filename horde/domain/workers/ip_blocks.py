"""A moderator times out a worker's IP address (its /64 for IPv6): the worker and everyone
behind that address get `TimeoutIP` until it ends (spec/api.md §6.5)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain.moderation import ip_timeouts
from horde.domain.workers import worker_admin
from horde.models import Worker

MAX_DAYS = 30


def _network(worker: Worker) -> ip_timeouts.Network:
    if not worker.ipaddr:
        raise errors.BadRequest(f"Worker '{worker.name}' has no known IP address yet.")
    try:
        return ip_timeouts.worker_network(worker.ipaddr)
    except ValueError:
        raise errors.BadRequest(f"Worker '{worker.name}' has no valid IP address ({worker.ipaddr}).") from None


def block(session: Session, worker_id: str, days: int, now: dt.datetime) -> None:
    worker = worker_admin.find(session, worker_id=worker_id)
    ip_timeouts.time_out(session, _network(worker), dt.timedelta(days=days), "worker", now)


def unblock(session: Session, worker_id: str) -> None:
    worker = worker_admin.find(session, worker_id=worker_id)
    ip_timeouts.lift(session, _network(worker))
