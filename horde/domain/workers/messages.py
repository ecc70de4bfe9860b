"""Worker messages: moderators write to any worker or to all, owners to their own workers."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from horde.db import delete_oldest, rfc822
from horde.domain import errors
from horde.models import User, Worker, WorkerMessage

DEFAULT_HOURS, MAX_HOURS = 12, 30 * 24
MODERATOR_ORIGIN = "AI Horde Moderators"
PAGE_SIZE = 50
MAX_PAGE = 10000
EXPIRED_KEPT = dt.timedelta(days=7)  # listed as "expired" this long, then pruned
PRUNE_CHUNK = 1000


def view(message: WorkerMessage) -> dict:
    return {
        "id": message.id, "worker_id": message.worker_id, "user_id": str(message.user_id), "message": message.message,
        "origin": message.origin, "expiry": rfc822(message.expiry), "created": rfc822(message.created),
    }


def pop_view(message: WorkerMessage) -> dict:
    return {"id": message.id, "message": message.message, "origin": message.origin, "expiry": rfc822(message.expiry)}


def create(session: Session, author: User, body: dict, now: dt.datetime) -> WorkerMessage:
    if author.is_anonymous:
        raise errors.AnonForbidden("Anonymous users cannot send worker messages.")
    worker_id = body.get("worker_id")
    if not author.moderator:
        worker = session.get(Worker, worker_id) if worker_id else None
        if worker is None or worker.owner_id != author.id:
            raise errors.MessagesOnlyOwnWorkers()
    elif worker_id and session.get(Worker, worker_id) is None:
        raise errors.WorkerNotFound()
    hours = min(max(int(body.get("expiry", DEFAULT_HOURS)), 1), MAX_HOURS)
    origin = (body.get("origin") or MODERATOR_ORIGIN) if author.moderator else str(author.id)
    message = WorkerMessage(
        id=str(uuid.uuid4()), worker_id=worker_id, user_id=author.id, message=body["message"], origin=origin[:255],
        expiry=now + dt.timedelta(hours=hours), created=now,
    )
    session.add(message)
    session.flush()
    return message


def get(session: Session, message_id: str) -> WorkerMessage:
    message = session.get(WorkerMessage, message_id)
    if message is None:
        raise errors.WorkermessageNotFound(f"Worker message '{message_id}' not found.")
    return message


def delete(session: Session, actor: User, message: WorkerMessage) -> None:
    if actor.id != message.user_id and not actor.moderator:
        raise errors.NotOwner("Only the author or a moderator can delete a message.")
    session.delete(message)
    session.flush()


def listing(session: Session, viewer: User, *, user_id: int | None, worker_id: str | None, validity: str, page: int, now: dt.datetime) -> list[dict]:
    """Messages to the workers of a user (one's own unless a moderator), plus the broadcasts."""
    if validity not in ("active", "expired", "all"):
        raise errors.BadRequest("validity must be 'active', 'expired' or 'all'.")
    owner_id = viewer.id if user_id is None else user_id
    if owner_id != viewer.id and not viewer.moderator:
        raise errors.Forbidden("You can only read the messages of your own workers.")
    own_workers = select(Worker.id).where(Worker.owner_id == owner_id)
    query = select(WorkerMessage).where(or_(WorkerMessage.worker_id.in_(own_workers), WorkerMessage.worker_id.is_(None)))
    if worker_id:
        query = query.where(or_(WorkerMessage.worker_id == worker_id, WorkerMessage.worker_id.is_(None)))
    if validity == "active":
        query = query.where(WorkerMessage.expiry > now)
    elif validity == "expired":
        query = query.where(WorkerMessage.expiry <= now)
    query = query.order_by(WorkerMessage.created.desc()).offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return [view(m) for m in session.scalars(query)]


def for_pop(session: Session, worker_id: str, now: dt.datetime) -> list[dict]:
    """The worker's active messages and the active broadcasts, for its pop answer."""
    query = select(WorkerMessage).where(
        or_(WorkerMessage.worker_id == worker_id, WorkerMessage.worker_id.is_(None)), WorkerMessage.expiry > now
    ).order_by(WorkerMessage.created)
    return [pop_view(m) for m in session.scalars(query)]


def prune_expired(session: Session, now: dt.datetime) -> int:
    """Delete one chunk of messages expired more than EXPIRED_KEPT ago; returns how many."""
    return delete_oldest(
        session, WorkerMessage, WorkerMessage.expiry < now - EXPIRED_KEPT, oldest_first=WorkerMessage.expiry, limit=PRUNE_CHUNK
    )
