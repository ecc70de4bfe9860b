"""Webhooks (spec/api.md §10.6, behaviour §1.15): an outbox row per delivered job, sent later.

The row is written in the transaction that records the delivery, so it exists exactly when
the delivery does and survives any restart; a sender (horde/jobs/webhooks.py, on every node
that runs jobs) claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a compare-and-set
on SQLite), so each job's webhook is sent by one sender once. A claim is a lease: a sender
that dies holding it is replaced when the lease runs out. Up to `MAX_ATTEMPTS` attempts,
`RETRY_AFTER` seconds apart, each bounded by `TIMEOUT`; a 2xx answer ends it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from horde import events
from horde.db import delete_oldest
from horde.models import GenerationRequest, WebhookDelivery
from horde.models import webhook as states

D = WebhookDelivery
MAX_ATTEMPTS = 3
TIMEOUT = 3.0  # seconds for one attempt, connection to answer
RETRY_AFTER = (1.0, 3.0)  # seconds after the first and the second failed attempt
LEASE = dt.timedelta(seconds=30)  # a claimed row is another sender's again after this
MAX_ANSWER_BYTES = 64 * 1024
TOPIC = "webhooks"
# A delivery is over within a minute (three attempts seconds apart, a lease of 30 s): a day
# later its row, sent, failed or abandoned, is only history, and pruned.
KEPT = dt.timedelta(days=1)
PRUNE_CHUNK = 5000
_INSERT = insert(D.__table__)


def queue(session: Session, request: GenerationRequest, job_id: str, kudos: float, now: dt.datetime) -> None:
    """Called in the delivery's transaction when the request has a webhook."""
    session.connection().execute(
        _INSERT,
        dict(
            job_id=job_id, request_id=request.id, kind=request.kind, user_id=request.user_id, url=request.webhook,
            kudos=kudos, state=states.PENDING, attempts=0, next_attempt=now, created=now,
        ),
    )
    events.note(session, TOPIC)


def _due(now: dt.datetime):
    return and_(
        D.state == states.PENDING, D.next_attempt <= now,
        or_(D.claimed_until.is_(None), D.claimed_until < now), D.attempts < MAX_ATTEMPTS,
    )


def claim(session: Session, now: dt.datetime) -> WebhookDelivery | None:
    """Take the next due delivery for one attempt (commit before sending it)."""
    values = {"claimed_until": now + LEASE, "attempts": D.attempts + 1}
    if session.get_bind().dialect.name == "postgresql":
        chosen = (
            select(D.id).where(_due(now)).order_by(D.next_attempt).limit(1).with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claimed_id = session.scalar(update(D).where(D.id == chosen).values(**values).returning(D.id))
    else:
        candidate = session.scalar(select(D.id).where(_due(now)).order_by(D.next_attempt).limit(1))
        claimed_id = None
        if candidate is not None:
            won = session.execute(
                update(D).where(D.id == candidate, _due(now)).values(**values).execution_options(synchronize_session=False)
            ).rowcount
            claimed_id = candidate if won == 1 else None
    if claimed_id is None:
        return None
    return session.get(D, claimed_id, populate_existing=True)


def record(session: Session, delivery_id: int, *, ok: bool, status: int | None, error: str | None, now: dt.datetime) -> str:
    """The outcome of one attempt: sent, retried later, or given up after the last one."""
    delivery = session.get(D, delivery_id, populate_existing=True)
    if delivery is None:
        return states.FAILED
    if ok:
        state, next_attempt = states.SENT, delivery.next_attempt
    elif delivery.attempts >= MAX_ATTEMPTS:
        state, next_attempt = states.FAILED, delivery.next_attempt
    else:
        state = states.PENDING
        next_attempt = now + dt.timedelta(seconds=RETRY_AFTER[min(delivery.attempts, len(RETRY_AFTER)) - 1])
    session.execute(
        update(D).where(D.id == delivery_id).values(
            state=state, next_attempt=next_attempt, claimed_until=None, last_status=status,
            last_error=(error or "")[:255] or None, sent_at=now if ok else None,
        ).execution_options(synchronize_session=False)
    )
    return state


def give_up(session: Session, delivery_id: int, reason: str, now: dt.datetime) -> None:
    """Nothing left to send (the request expired): no further attempts."""
    session.execute(
        update(D).where(D.id == delivery_id).values(state=states.FAILED, claimed_until=None, last_error=reason[:255])
        .execution_options(synchronize_session=False)
    )


def prune(session: Session, now: dt.datetime) -> int:
    """Delete one chunk of deliveries older than KEPT; returns how many."""
    return delete_oldest(session, D, D.created < now - KEPT, oldest_first=D.created, limit=PRUNE_CHUNK)
