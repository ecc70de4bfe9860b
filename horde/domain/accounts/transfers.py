"""Kudos transfers between users (spec/behaviour.md §2.11): checked, atomic, idempotent.

The debit is one conditional UPDATE (`kudos - floor >= amount`), so two transfers racing
for the same kudos cannot both succeed; both payers' rows are locked in id order first,
so transfers in opposite directions cannot deadlock.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from horde.cache import Cache
from horde.domain import aliases, errors
from horde.domain.accounts import deletion, ledger, sharedkeys
from horde.domain.moderation import roles, suspicion
from horde.db import utcnow
from horde.models import KudosEvent, SharedKey, User

RECENT_TRANSFER_SECONDS = 60


def _target_id(username: str) -> int:
    target_id = aliases.alias_id(username)
    if target_id is None:
        raise errors.InvalidTargetUsername()
    return target_id


def _check(source: User, target: User | None, amount: int) -> User:
    if source.is_anonymous:
        raise errors.KudosTransferFromAnon()
    if amount < 0:
        raise errors.NegativeKudosTransfer()
    if amount == 0:
        raise errors.InvalidKudosAmount()
    if amount > ledger.MAX_AMOUNT:
        raise errors.InvalidKudosAmount(f"A transfer moves at most {ledger.MAX_AMOUNT:,} kudos.")
    if target is None or deletion.is_wiped(target):
        raise errors.InvalidTargetUsername()
    if target.is_anonymous:
        raise errors.KudosTransferToAnon()
    if target.id == source.id:
        raise errors.KudosTransferToSelf()
    if source.deleted or target.deleted:
        raise errors.DeletedUserTransfer()
    if source.flagged:
        raise errors.SourceAccountFlagged()
    if source.education:
        raise errors.EducationCannotSendKudos()
    if suspicion.is_suspicious(source):
        raise errors.FaultWhenKudosSending()
    if target.flagged:
        raise errors.TargetAccountFlagged()
    if suspicion.is_suspicious(target):
        raise errors.FaultWhenKudosReceiving()
    return target


def _replayed(session: Session, source_id: int, key: str, target_id: int, amount: int) -> bool:
    """True if this Idempotency-Key already moved exactly this transfer."""
    earlier = session.scalar(
        select(KudosEvent).where(KudosEvent.user_id == source_id, KudosEvent.idempotency_key == key)
    )
    if earlier is None:
        return False
    if earlier.other_user_id != target_id or round(-earlier.amount) != amount:
        raise errors.IdempotencyKeyConflict()
    return True


_DEBIT = (
    update(User.__table__)
    .where(
        User.__table__.c.id == bindparam("source_id"),
        User.__table__.c.kudos - bindparam("floor") >= bindparam("amount"),
    )
    .values(kudos=User.__table__.c.kudos - bindparam("amount"))
)


def _target(session: Session, username: str) -> tuple[User | None, SharedKey | None]:
    """The recipient: a user by alias, or a shared key's owner (the key must not have expired)."""
    if not sharedkeys.is_shared_key_id(username):
        return session.get(User, _target_id(username)), None
    key = session.get(SharedKey, username.lower())
    if key is None:
        raise errors.InvalidTargetUsername()
    if sharedkeys.is_expired(key, utcnow()):
        raise errors.SharedKeyExpiredTransfer()
    return session.get(User, key.user_id), key


def transfer(session: Session, cache: Cache, source: User, username: str, amount: int, idempotency_key: str | None) -> int:
    """Move `amount` kudos from `source` to the user named by alias, or to a shared key's
    owner, whose key budget grows by as much (unless unlimited); returns the amount."""
    if source.is_anonymous:
        raise errors.KudosTransferFromAnon()
    target_user, key = _target(session, username)
    target = _check(source, target_user, amount)
    if idempotency_key and _replayed(session, source.id, idempotency_key, target.id, amount):
        return amount
    if cache.get(f"transfer:{target.id}->{source.id}"):
        raise errors.TooFastKudosTransfers()
    # Lock both rows in id order: opposite transfers wait for each other instead of deadlocking.
    session.execute(select(User.id).where(User.id.in_(sorted({source.id, target.id}))).order_by(User.id).with_for_update())
    # A transfer with the same key may have committed while we waited for the lock.
    if idempotency_key and _replayed(session, source.id, idempotency_key, target.id, amount):
        session.rollback()
        return amount
    if ledger.room_below_ceiling(session, target.id) < amount:
        session.rollback()
        raise errors.KudosAboveMaximum()
    params = {"source_id": source.id, "floor": ledger.kudos_floor(source), "amount": amount}
    if session.connection().execute(_DEBIT, params).rowcount != 1:
        session.rollback()
        raise errors.KudosTransferNotEnough()
    gift_bucket = "donated" if target.education else "gifted"
    # The debit above moved the balance; the event records it (and its bucket) for the ledger.
    session.execute(
        update(User).where(User.id == source.id).values({getattr(User, f"kudos_{gift_bucket}"): getattr(User, f"kudos_{gift_bucket}") - amount})
        .execution_options(synchronize_session=False)
    )
    session.add(
        KudosEvent(user_id=source.id, amount=-amount, bucket=gift_bucket, reason="transfer", other_user_id=target.id,
                   idempotency_key=idempotency_key, folded=True)
    )
    ledger.move_kudos(session, target, amount, bucket="received", reason="transfer", other_user_id=source.id)
    if key is not None:
        sharedkeys.credit(session, key, amount)
    try:
        session.commit()
    except IntegrityError:
        # Where rows cannot be locked (SQLite) the same key can race to the insert: the loser
        # answers as a replay of the winner (or as a conflict if its transfer differs).
        session.rollback()
        if idempotency_key and _replayed(session, source.id, idempotency_key, target.id, amount):
            return amount
        raise
    cache.set(f"transfer:{source.id}->{target.id}", True, RECENT_TRANSFER_SECONDS)
    return amount


def award(session: Session, actor: User, username: str, amount: int, admins: list[str]) -> int:
    """Mint kudos for a user (moderators, admins and service accounts; bucket "awarded").

    A flagged recipient is silently given nothing, as on the public horde."""
    if not (actor.moderator or actor.service or roles.is_admin(actor, admins)):
        raise errors.NotAllowedAwards()
    if amount <= 0:
        raise errors.InvalidKudosAmount()
    if amount > ledger.MAX_AMOUNT:
        raise errors.InvalidKudosAmount(f"An award is at most {ledger.MAX_AMOUNT:,} kudos.")
    target_id = aliases.alias_id(username)
    target = session.get(User, target_id) if target_id is not None else None
    if target is None or deletion.is_wiped(target):
        raise errors.InvalidAwardUsername()
    if target.is_anonymous:
        raise errors.KudosAwardToAnon()
    if not target.flagged:
        if ledger.room_below_ceiling(session, target.id) < amount:
            raise errors.KudosAboveMaximum()
        ledger.move_kudos(session, target, amount, bucket="awarded", reason="award", other_user_id=actor.id)
    session.commit()
    return amount
