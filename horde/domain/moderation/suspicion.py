"""Suspicion (spec/behaviour.md §2.13): recorded reasons to distrust a user or a worker.

A user with 5 reasons is suspicious (unless trusted): no transfers either way, no
automatic trust. A worker's reasons count for its owner too; a worker with 5 is paused
(unless its owner is trusted) and told why. The anonymous account never gets any.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from horde.db import utcnow
from horde.models import ANONYMOUS_USER_ID, Suspicion, User, Worker, WorkerMessage

SUSPICIOUS_AT = 5
# User reasons (once each).
USERNAME_LONG, USERNAME_PROFANITY, CORRUPT_PROMPT = "USERNAME_LONG", "USERNAME_PROFANITY", "CORRUPT_PROMPT"
# Worker reasons (mirrored onto the owner); the first two may repeat.
UNREASONABLY_FAST, TOO_MANY_JOBS_ABORTED = "UNREASONABLY_FAST", "TOO_MANY_JOBS_ABORTED"
UNSAFE_IP, EXTREME_MAX_PIXELS = "UNSAFE_IP", "EXTREME_MAX_PIXELS"
WORKER_NAME_LONG, WORKER_NAME_EXTREME, WORKER_PROFANITY = "WORKER_NAME_LONG", "WORKER_NAME_EXTREME", "WORKER_PROFANITY"
REPEATABLE = frozenset({UNREASONABLY_FAST, TOO_MANY_JOBS_ABORTED})
PAUSED_MESSAGE = "This worker was paused automatically: it gave too many reasons for suspicion. Contact the moderators."
PAUSED_MESSAGE_DAYS = 7


def is_suspicious(user: User) -> bool:
    return user.suspicion >= SUSPICIOUS_AT and not user.trusted


def _already(session: Session, user_id: int, worker_id: str | None, reason: str) -> bool:
    query = select(Suspicion.id).where(Suspicion.user_id == user_id, Suspicion.reason == reason)
    if worker_id is not None:
        query = query.where(Suspicion.worker_id == worker_id)
    return session.scalar(query.limit(1)) is not None


def _add_to_user(session: Session, user_id: int) -> None:
    session.execute(
        update(User).where(User.id == user_id).values(suspicion=User.suspicion + 1).execution_options(synchronize_session=False)
    )


def record_user(session: Session, user_id: int, reason: str) -> bool:
    """One more reason against a user; False if it was already recorded (or anonymous)."""
    if user_id == ANONYMOUS_USER_ID or (reason not in REPEATABLE and _already(session, user_id, None, reason)):
        return False
    session.add(Suspicion(user_id=user_id, reason=reason, created=utcnow()))
    _add_to_user(session, user_id)
    session.flush()
    return True


def record_worker(session: Session, worker: Worker, owner_trusted: bool, reason: str, now: dt.datetime | None = None) -> bool:
    """One more reason against a worker, counted for its owner as well; a fifth pauses it."""
    if worker.owner_id == ANONYMOUS_USER_ID:
        return False
    if reason not in REPEATABLE and _already(session, worker.owner_id, worker.id, reason):
        return False
    now = now or utcnow()
    session.add(Suspicion(user_id=worker.owner_id, worker_id=worker.id, reason=reason, created=now))
    _add_to_user(session, worker.owner_id)
    worker.suspicion = (worker.suspicion or 0) + 1
    if worker.suspicion >= SUSPICIOUS_AT and not owner_trusted and not worker.paused:
        worker.paused = True
        session.add(
            WorkerMessage(
                id=str(uuid.uuid4()), worker_id=worker.id, user_id=worker.owner_id, message=PAUSED_MESSAGE,
                origin="Horde moderation", expiry=now + dt.timedelta(days=PAUSED_MESSAGE_DAYS), created=now,
            )
        )
    session.flush()
    return True


def reset(session: Session, user: User) -> None:
    """A moderator's reset: the user's reasons and all their workers' reasons."""
    session.execute(delete(Suspicion).where(Suspicion.user_id == user.id))
    session.execute(
        update(Worker).where(Worker.owner_id == user.id).values(suspicion=0).execution_options(synchronize_session=False)
    )
    user.suspicion = 0


def reasons(session: Session, user_ids: list[int]) -> dict[int, list[dict]]:
    """The recorded reasons of these users (worker reasons name their worker)."""
    found: dict[int, list[dict]] = {}
    rows = session.execute(
        select(Suspicion.user_id, Suspicion.reason, Suspicion.worker_id, Suspicion.created)
        .where(Suspicion.user_id.in_(user_ids)).order_by(Suspicion.created)
    )
    for user_id, reason, worker_id, created in rows:
        found.setdefault(user_id, []).append({"reason": reason, "worker_id": worker_id, "created": created})
    return found


def most_suspicious_users(session: Session, limit: int = 50) -> list[User]:
    return list(
        session.scalars(select(User).where(User.suspicion > 0).order_by(User.suspicion.desc(), User.id).limit(limit))
    )


def most_suspicious_workers(session: Session, limit: int = 50) -> list[Worker]:
    return list(
        session.scalars(select(Worker).where(Worker.suspicion > 0).order_by(Worker.suspicion.desc(), Worker.name).limit(limit))
    )


