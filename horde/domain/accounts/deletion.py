"""Deleting an account (spec/behaviour.md §3.6): by its owner or a moderator.

The first deletion disables the account at once (its key gets `DeletedUser` everywhere:
generate, pop, transfers) and can be undone with `undelete`. Deleting it again once it
has been inactive for 30 days wipes it: name, login and contact are gone, the key stops
existing, its workers, shared keys, styles and collections are deleted. Its kudos events stay, so every other account's
history still adds up.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.models import Collection, Job, SharedKey, Style, User, Worker

WIPE_AFTER_INACTIVE = dt.timedelta(days=30)
WIPED = "<wiped>"
DELETED, WIPED_NOW = "deleted", "wiped"


def is_wiped(user: User) -> bool:
    return user.oauth_id.startswith(WIPED)


def check_may_delete(actor: User, target: User) -> None:
    if actor.is_anonymous or target.is_anonymous:
        raise errors.AnonForbiddenUser()
    if actor.id != target.id and not actor.moderator:
        raise errors.NotUserOrMod()
    if target.moderator:
        raise errors.CannotDeleteMod()


def delete_user(session: Session, actor: User, target: User, now: dt.datetime) -> str:
    """Mark deleted, or wipe an account deleted before and inactive for 30 days."""
    check_may_delete(actor, target)
    if not target.deleted:
        target.deleted = True
        session.flush()
        return DELETED
    if now - target.last_active < WIPE_AFTER_INACTIVE:
        raise errors.CannotWipeActiveUser()
    wipe(session, target)
    return WIPED_NOW


def wipe(session: Session, user: User) -> None:
    worker_ids = list(session.scalars(select(Worker.id).where(Worker.owner_id == user.id)))
    if worker_ids:
        # Jobs keep their worker's name; the reference goes (as when a worker is deleted).
        session.execute(
            Job.__table__.update().where(Job.__table__.c.worker_id.in_(worker_ids)).values(worker_id=None)
        )
        session.execute(delete(Worker).where(Worker.id.in_(worker_ids)))
    # Collections and styles first (examples and memberships go with them by cascade), then
    # the keys: other users' collections lose the wiped user's styles.
    for table in (Collection, Style, SharedKey):
        session.execute(delete(table).where(table.user_id == user.id))
    user.username = WIPED
    user.oauth_id = f"{WIPED}{user.id}"  # unique, like every oauth_id
    user.api_key_hash = None
    user.contact = None
    user.proxy_passkey = None
    user.admin_comment = None
    user.public_workers = False
    session.flush()
