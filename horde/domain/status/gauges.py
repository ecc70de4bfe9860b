"""Figures read when /metrics is scraped: what waits in the queue, who is online."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horde.domain.workers.checkin import ONLINE_WINDOW
from horde.models import Worker
from horde.models.request import QueuedModel


def queue_depth_by_model(session: Session, kind: str) -> dict[str, int]:
    """Requests with jobs left to hand out, per requested model ('' = any model)."""
    rows = session.execute(
        select(QueuedModel.model, func.count()).where(QueuedModel.kind == kind).group_by(QueuedModel.model)
    )
    return {model: count for model, count in rows}


def workers_online(session: Session, now: dt.datetime) -> dict[str, int]:
    """Workers that checked in within the online window, per type."""
    rows = session.execute(
        select(Worker.worker_type, func.count()).where(Worker.last_check_in > now - ONLINE_WINDOW).group_by(Worker.worker_type)
    )
    return {kind: count for kind, count in rows}
