"""Kudos events past their retention are summed into roll-ups, then deleted.

Every movement of kudos is an appended event (ledger.py): two rows per delivered job, about
200 a second at 100 jobs/s, forever. What the API shows of kudos (balances, detail buckets,
records, worker and team counters) lives on the users, workers and teams rows, not in the
events; events are read only while recent: by the dashboard (its last hours) and by a
transfer repeated with its Idempotency-Key. So events older than EVENTS_KEPT are added into
`kudos_rollups`, one row per (user, bucket, reason), and deleted: a balance is still its
applied events plus its roll-ups plus its adjustments, to the cent.

The events are walked by id from a cursor, a chunk per transaction. Ids follow time (each
event is inserted with its own time in a short transaction), so the walk stops at the first
event that is too recent, or not yet applied to its balance (the anonymous account's, which
a job folds within seconds): it is taken up again on a later run. Transfers that carry an
Idempotency-Key are left behind by the walk and rolled up when their key expires.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Numeric, case, cast, delete, func, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from horde.db import add_to_rows
from horde.models import KudosEvent, KudosRollup, RetentionCursor

EVENTS_KEPT = dt.timedelta(days=1)  # the dashboard reads the last 3 hours
IDEMPOTENCY_KEPT = dt.timedelta(days=30)  # a transfer repeated with its key this late is still only answered
CHUNK = 10_000
CURSOR = "kudos_events"
KEY = ("user_id", "bucket", "reason")

E = KudosEvent.__table__


def _cursor(session: Session) -> RetentionCursor:
    cursor = session.get(RetentionCursor, CURSOR, with_for_update=True)
    if cursor is None:
        cursor = RetentionCursor(name=CURSOR, last_id=0)
        session.add(cursor)
        session.flush()
    return cursor


def _fold_and_delete(session: Session, *where) -> int:
    """Delete the events matching `where` and add them to their roll-ups, in the caller's
    transaction: what is added is exactly what the DELETE removed. Returns how many."""
    if session.get_bind().dialect.name == "postgresql":
        return _fold_and_delete_in_postgres(session, *where)
    sums: dict[tuple[int, str, str], list] = {}
    for user_id, bucket, reason, amount in session.execute(
        delete(E).where(*where).returning(E.c.user_id, E.c.bucket, E.c.reason, E.c.amount)
    ):
        found = sums.setdefault((user_id, bucket, reason), [0.0, 0])
        found[0] += amount
        found[1] += 1
    add_to_rows(
        session, KudosRollup.__table__, KEY,
        [
            # Every event is a whole number of cents, so the sum is too (rounding drops float noise).
            {"user_id": user_id, "bucket": bucket, "reason": reason, "amount": round(amount, 2), "events": count}
            for (user_id, bucket, reason), (amount, count) in sorted(sums.items())
        ],
    )
    return sum(count for _, count in sums.values())


def _fold_and_delete_in_postgres(session: Session, *where) -> int:
    """The same in one statement, the rows never leaving the database (ten times faster)."""
    gone = delete(E).where(*where).returning(E.c.user_id, E.c.bucket, E.c.reason, E.c.amount).cte("gone")
    sums = select(
        gone.c.user_id, gone.c.bucket, gone.c.reason,
        cast(func.round(cast(func.sum(gone.c.amount), Numeric), 2), Float), func.count(),
    ).group_by(gone.c.user_id, gone.c.bucket, gone.c.reason).order_by(gone.c.user_id, gone.c.bucket, gone.c.reason)
    R = KudosRollup.__table__
    statement = postgresql.insert(R).from_select(["user_id", "bucket", "reason", "amount", "events"], sums)
    added = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={"amount": R.c.amount + statement.excluded.amount, "events": R.c.events + statement.excluded.events},
    ).cte("added")
    return session.scalar(select(func.count()).select_from(gone).add_cte(added))


def roll_up(session: Session, now: dt.datetime) -> int:
    """One chunk of the walk; returns how many events it went past (0: none is old enough yet)."""
    cursor = _cursor(session)
    start = cursor.last_id
    chunk = select(E.c.id, E.c.created, E.c.folded).where(E.c.id > start).order_by(E.c.id).limit(CHUNK).subquery()
    too_new = or_(chunk.c.created >= now - EVENTS_KEPT, ~chunk.c.folded)
    blocked, last, seen = session.execute(
        select(func.min(case((too_new, chunk.c.id))), func.max(chunk.c.id), func.count())
    ).one()
    if blocked is not None:  # the walk ends before it
        seen = session.scalar(select(func.count()).where(E.c.id > start, E.c.id < blocked))
        last = session.scalar(select(func.max(E.c.id)).where(E.c.id > start, E.c.id < blocked))
    if seen:
        cursor.last_id = last
        _fold_and_delete(session, E.c.id > start, E.c.id <= last, E.c.idempotency_key.is_(None))
    session.commit()
    return seen


def roll_up_keyed(session: Session, now: dt.datetime) -> int:
    """One chunk of the transfers left behind for their Idempotency-Key, once it has expired."""
    cursor = _cursor(session)
    expired = (
        select(E.c.id).where(
            E.c.idempotency_key.is_not(None), E.c.id <= cursor.last_id, E.c.created < now - IDEMPOTENCY_KEPT,
        ).order_by(E.c.id).limit(CHUNK)
    )
    gone = _fold_and_delete(session, E.c.id.in_(expired.scalar_subquery()))
    session.commit()
    return gone
